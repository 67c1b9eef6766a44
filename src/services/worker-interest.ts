/**
 * Interest routing for a service's topics: how many subscribers of each topic
 * every worker holds, so that a publish goes once to each worker with at least
 * one subscriber and nowhere else. The service's own `SubscriptionIndex` says
 * who is subscribed; this says where they are.
 */
export class WorkerInterest {
  /** topic → worker id → subscribers on that worker. */
  private readonly interest = new Map<string, Map<number, number>>();

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

  /** Workers holding at least one subscriber of the topic. */
  workersFor(topic: string): Iterable<number> {
    return this.interest.get(topic)?.keys() ?? EMPTY;
  }

  /** Topics with at least one subscriber anywhere. */
  get topicCount(): number {
    return this.interest.size;
  }
}

const EMPTY: readonly number[] = [];
