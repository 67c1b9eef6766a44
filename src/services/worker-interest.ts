/**
 * Interest routing for a service's topics: how many subscribers of each topic
 * every worker holds, so that a publish goes once to each worker with at least
 * one subscriber and nowhere else. The service's own `SubscriptionIndex` says
 * who is subscribed; this says where they are.
 *
 * With several instances, other instances subscribe clients too: each worker
 * reports the topics that have a subscriber on it, from any instance
 * (`report`), and a publish goes to the union of both. A service of one
 * instance never gets a report, and pays nothing for it.
 */
export class WorkerInterest {
  /** topic → worker id → subscribers on that worker. */
  private readonly interest = new Map<string, Map<number, number>>();
  /** topic → workers that reported a subscriber of it (from any instance). */
  private readonly reported = new Map<string, Set<number>>();

  /** Counts one more subscriber of `topic` on `worker`. */
  add(worker: number, topic: string): void {
    let workers = this.interest.get(topic);
    if (workers === undefined) {
      workers = new Map();
      this.interest.set(topic, workers);
    }
    workers.set(worker, (workers.get(worker) ?? 0) + 1);
  }

  /** Counts one subscriber of `topic` on `worker` less. */
  remove(worker: number, topic: string): void {
    const workers = this.interest.get(topic);
    if (workers === undefined) return;
    const remaining = (workers.get(worker) ?? 0) - 1;
    if (remaining > 0) workers.set(worker, remaining);
    else workers.delete(worker);
    if (workers.size === 0) this.interest.delete(topic);
  }

  /** Worker `worker` reported that `topic` has a subscriber there (`on`), from any instance, or no longer has one. */
  report(worker: number, topic: string, on: boolean): void {
    let workers = this.reported.get(topic);
    if (on) {
      if (workers === undefined) {
        workers = new Set();
        this.reported.set(topic, workers);
      }
      workers.add(worker);
      return;
    }
    workers?.delete(worker);
    if (workers?.size === 0) this.reported.delete(topic);
  }

  /** A worker's link closed: what it reported goes with it (a new link reports afresh). */
  dropWorker(worker: number): void {
    if (this.reported.size === 0) return;
    for (const [topic, workers] of this.reported) {
      workers.delete(worker);
      if (workers.size === 0) this.reported.delete(topic);
    }
  }

  /** Whether a worker reported a subscriber of `topic` (one another instance may have subscribed). */
  reportedAnywhere(topic: string): boolean {
    return this.reported.has(topic);
  }

  /** Workers holding at least one subscriber of the topic: this instance's, and those workers reported. */
  workersFor(topic: string): Iterable<number> {
    const own = this.interest.get(topic);
    const reported = this.reported.get(topic);
    if (reported === undefined) return own?.keys() ?? EMPTY;
    if (own === undefined) return reported;
    const all = new Set(reported);
    for (const worker of own.keys()) all.add(worker);
    return all;
  }

  /** Topics with at least one subscriber anywhere. */
  get topicCount(): number {
    return this.interest.size;
  }
}

const EMPTY: readonly number[] = [];
