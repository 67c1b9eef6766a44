/**
 * The sockets one worker holds, by client id and by service, and their topic
 * subscriptions, so that a send is one map lookup and a broadcast or publish
 * touches only the sockets concerned.
 */
import type { WebSocket } from 'ws';
import { SubscriptionIndex } from '../subscription-index';
import type { ServiceLink } from './service-link';
import type { ServiceCounters } from './worker-metrics';

export interface ClientEntry {
  readonly id: string;
  readonly service: string;
  readonly socket: WebSocket;
  readonly counters: ServiceCounters;
  /** The link to the client's service instance: the one that owns the client, for its whole connection. */
  readonly link: ServiceLink;
  /** Fan-out may write one shared frame to it (no extension negotiated). */
  readonly sharedFrames: boolean;
  /** The sequence number of its last event on `link` (its connect, then each message): a held Close waits for its ack. */
  lastSeq: number;
}

function topicKey(service: string, topic: string): string {
  return `${service}\n${topic}`;
}

function topicOfKey(key: string): string {
  return key.slice(key.indexOf('\n') + 1);
}

/**
 * Clients are kept by service only, not also in one map by id: a second
 * entry per client in a map costs ~46 bytes of its hash table, for as long as
 * the client is connected. A worker serves a handful of services, so a
 * lookup by id alone tries each; the delivery path knows the service and
 * looks there first (`getOf`).
 */
export class ClientRegistry {
  private readonly byService = new Map<string, Map<string, ClientEntry>>();
  private readonly topics = new SubscriptionIndex();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(entry: ClientEntry): void {
    let entries = this.byService.get(entry.service);
    if (entries === undefined) {
      entries = new Map();
      this.byService.set(entry.service, entries);
    }
    const before = entries.size;
    entries.set(entry.id, entry);
    this.count += entries.size - before;
  }

  /** Removes a client and its subscriptions; calls `lost` for each of its topics that has no subscriber left here. */
  remove(entry: ClientEntry, lost?: (topic: string) => void): void {
    const entries = this.byService.get(entry.service);
    if (entries?.get(entry.id) === entry) {
      entries.delete(entry.id);
      this.count--;
    }
    const topics = this.topics.removeClient(entry.id);
    if (lost !== undefined) for (const key of topics) if (this.topics.count(key) === 0) lost(topicOfKey(key));
  }

  /** The client `id`, whichever its service. */
  get(id: string): ClientEntry | undefined {
    for (const entries of this.byService.values()) {
      const entry = entries.get(id);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  /** The client `id` if it is a client of `service`. */
  getOf(service: string, id: string): ClientEntry | undefined {
    return this.byService.get(service)?.get(id);
  }

  /** Clients of `service`, by id. */
  ofService(service: string): ReadonlyMap<string, ClientEntry> {
    return this.byService.get(service) ?? EMPTY;
  }

  /** Subscribes a client; true when the topic had no subscriber here before. */
  subscribe(service: string, topic: string, id: string): boolean {
    if (this.getOf(service, id) === undefined) return false;
    const key = topicKey(service, topic);
    return this.topics.add(id, key) && this.topics.count(key) === 1;
  }

  /** Ends a subscription; true when the topic has no subscriber here any more. */
  unsubscribe(service: string, topic: string, id: string): boolean {
    const key = topicKey(service, topic);
    return this.topics.remove(id, key) && this.topics.count(key) === 0;
  }

  /**
   * Drops every topic subscription of the clients `link`'s instance owns (a
   * new process of it knows none); calls `lost` for each of the service's
   * topics that has no subscriber left here.
   */
  dropTopicsOf(link: ServiceLink, lost?: (topic: string) => void): void {
    for (const entry of this.ofService(link.service).values()) {
      if (entry.link !== link) continue;
      for (const key of this.topics.removeClient(entry.id)) if (lost !== undefined && this.topics.count(key) === 0) lost(topicOfKey(key));
    }
  }

  /** Whether `service`'s `topic` has a subscriber here. */
  hasSubscribers(service: string, topic: string): boolean {
    return this.topics.count(topicKey(service, topic)) > 0;
  }

  /** The topics of `service` with at least one subscriber here. */
  *topicsOf(service: string): IterableIterator<string> {
    const prefix = `${service}\n`;
    for (const key of this.topics.topics()) if (key.startsWith(prefix)) yield key.slice(prefix.length);
  }

  /** Local subscribers of a service's topic. */
  *subscribers(service: string, topic: string): IterableIterator<ClientEntry> {
    const entries = this.ofService(service);
    for (const id of this.topics.subscribers(topicKey(service, topic))) {
      const entry = entries.get(id);
      if (entry !== undefined) yield entry;
    }
  }

  *all(): IterableIterator<ClientEntry> {
    for (const entries of this.byService.values()) yield* entries.values();
  }
}

const EMPTY: ReadonlyMap<string, ClientEntry> = new Map();
