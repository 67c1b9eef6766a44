/**
 * Interest routing for topics: for each service's topic, how many subscribers
 * each worker holds. A publish goes once to each worker with at least one
 * subscriber and nowhere else.
 */
import { workerOfClientId } from '../client-id';
import { SubscriptionIndex } from '../subscription-index';

export class TopicRouter {
  private readonly subscriptions = new Map<string, SubscriptionIndex>();
  /** `${service}\n${topic}` → worker id → subscribers on that worker. */
  private readonly interest = new Map<string, Map<number, number>>();

  /** Records a subscription; false when it existed already or the id names no worker. */
  subscribe(service: string, id: string, topic: string): boolean {
    const worker = workerOfClientId(id);
    if (worker === undefined || !this.index(service).add(id, topic)) return false;
    const key = `${service}\n${topic}`;
    let workers = this.interest.get(key);
    if (workers === undefined) {
      workers = new Map();
      this.interest.set(key, workers);
    }
    workers.set(worker, (workers.get(worker) ?? 0) + 1);
    return true;
  }

  unsubscribe(service: string, id: string, topic: string): boolean {
    if (!this.subscriptions.get(service)?.remove(id, topic)) return false;
    this.forget(service, id, topic);
    return true;
  }

  /** Drops every subscription of a client that closed. */
  removeClient(service: string, id: string): void {
    const index = this.subscriptions.get(service);
    if (index === undefined) return;
    for (const topic of index.removeClient(id)) this.forget(service, id, topic);
  }

  /** Drops every subscription of a service; returns them, to be undone at the workers. */
  removeService(service: string): Array<{ readonly id: string; readonly topic: string }> {
    const index = this.subscriptions.get(service);
    if (index === undefined) return [];
    this.subscriptions.delete(service);
    const removed: Array<{ id: string; topic: string }> = [];
    for (const [key, _workers] of this.interest) {
      if (!key.startsWith(`${service}\n`)) continue;
      const topic = key.slice(service.length + 1);
      for (const id of index.subscribers(topic)) removed.push({ id, topic });
      this.interest.delete(key);
    }
    return removed;
  }

  /** Workers holding at least one subscriber of the topic. */
  workersFor(service: string, topic: string): Iterable<number> {
    return this.interest.get(`${service}\n${topic}`)?.keys() ?? [];
  }

  subscriberCount(service: string, topic: string): number {
    return this.subscriptions.get(service)?.count(topic) ?? 0;
  }

  private index(service: string): SubscriptionIndex {
    let index = this.subscriptions.get(service);
    if (index === undefined) {
      index = new SubscriptionIndex();
      this.subscriptions.set(service, index);
    }
    return index;
  }

  private forget(service: string, id: string, topic: string): void {
    const key = `${service}\n${topic}`;
    const workers = this.interest.get(key);
    const worker = workerOfClientId(id);
    if (workers === undefined || worker === undefined) return;
    const remaining = (workers.get(worker) ?? 0) - 1;
    if (remaining > 0) workers.set(worker, remaining);
    else workers.delete(worker);
    if (workers.size === 0) this.interest.delete(key);
  }
}
