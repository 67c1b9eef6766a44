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
  /** The link to the client's service. */
  readonly link: ServiceLink;
  /** Fan-out may write one shared frame to it (no extension negotiated). */
  readonly sharedFrames: boolean;
  /** The sequence number of its last event on `link` (its connect, then each message): a held Close waits for its ack. */
  lastSeq: number;
}

function topicKey(service: string, topic: string): string {
  return `${service}\n${topic}`;
}

export class ClientRegistry {
  private readonly byId = new Map<string, ClientEntry>();
  private readonly byService = new Map<string, Map<string, ClientEntry>>();
  private readonly topics = new SubscriptionIndex();

  get size(): number {
    return this.byId.size;
  }

  add(entry: ClientEntry): void {
    this.byId.set(entry.id, entry);
    let entries = this.byService.get(entry.service);
    if (entries === undefined) {
      entries = new Map();
      this.byService.set(entry.service, entries);
    }
    entries.set(entry.id, entry);
  }

  remove(entry: ClientEntry): void {
    this.byId.delete(entry.id);
    this.byService.get(entry.service)?.delete(entry.id);
    this.topics.removeClient(entry.id);
  }

  get(id: string): ClientEntry | undefined {
    return this.byId.get(id);
  }

  /** Clients of `service`, by id. */
  ofService(service: string): ReadonlyMap<string, ClientEntry> {
    return this.byService.get(service) ?? EMPTY;
  }

  subscribe(service: string, topic: string, id: string): void {
    const entry = this.byId.get(id);
    if (entry !== undefined && entry.service === service) this.topics.add(id, topicKey(service, topic));
  }

  unsubscribe(service: string, topic: string, id: string): void {
    this.topics.remove(id, topicKey(service, topic));
  }

  /** Drops every topic subscription of a service's clients (a new instance of it knows none). */
  dropTopicsOf(service: string): void {
    for (const id of this.ofService(service).keys()) this.topics.removeClient(id);
  }

  /** Local subscribers of a service's topic. */
  *subscribers(service: string, topic: string): IterableIterator<ClientEntry> {
    for (const id of this.topics.subscribers(topicKey(service, topic))) {
      const entry = this.byId.get(id);
      if (entry !== undefined) yield entry;
    }
  }

  all(): IterableIterator<ClientEntry> {
    return this.byId.values();
  }
}

const EMPTY: ReadonlyMap<string, ClientEntry> = new Map();
