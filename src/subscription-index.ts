/**
 * Who is subscribed to what: topics by client and clients by topic, kept in
 * step so that a client's close removes all its subscriptions at once. Used by
 * services (exact counts; `worker-interest.ts` derives from it which workers
 * need a topic) and workers (which local sockets get it). The master routes no
 * topics: it is not on the data path.
 */
export class SubscriptionIndex {
  private readonly byTopic = new Map<string, Set<string>>();
  private readonly byClient = new Map<string, Set<string>>();

  /** Adds a subscription; false when it already existed. */
  add(client: string, topic: string): boolean {
    let clients = this.byTopic.get(topic);
    if (clients === undefined) {
      clients = new Set();
      this.byTopic.set(topic, clients);
    }
    if (clients.has(client)) return false;
    clients.add(client);
    let topics = this.byClient.get(client);
    if (topics === undefined) {
      topics = new Set();
      this.byClient.set(client, topics);
    }
    topics.add(topic);
    return true;
  }

  /** Removes a subscription; false when there was none. */
  remove(client: string, topic: string): boolean {
    const clients = this.byTopic.get(topic);
    if (clients === undefined || !clients.delete(client)) return false;
    if (clients.size === 0) this.byTopic.delete(topic);
    const topics = this.byClient.get(client);
    topics?.delete(topic);
    if (topics?.size === 0) this.byClient.delete(client);
    return true;
  }

  /** Removes every subscription of `client`; returns the topics it had. */
  removeClient(client: string): string[] {
    const topics = this.byClient.get(client);
    if (topics === undefined) return [];
    const left = [...topics];
    for (const topic of left) this.remove(client, topic);
    return left;
  }

  subscribers(topic: string): ReadonlySet<string> {
    return this.byTopic.get(topic) ?? EMPTY;
  }

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  topicsOf(client: string): ReadonlySet<string> {
    return this.byClient.get(client) ?? EMPTY;
  }

  /** Every topic with at least one subscriber. */
  topics(): IterableIterator<string> {
    return this.byTopic.keys();
  }

  get topicCount(): number {
    return this.byTopic.size;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
