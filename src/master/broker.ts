/**
 * The routing layer: which worker holds which client, which service each
 * client belongs to, and the forwarding of payloads between them. Payloads are
 * never parsed here. A service may address only its own clients; anything else
 * it sends is dropped, counted and logged.
 */
import { workerOfClientId } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import type { ClientInfo, ClientMessageFields, MasterToService, MasterToWorker, ServiceToMaster, WorkerToMaster } from '../protocol';
import { TopicRouter } from './topic-router';

export interface ServiceLink {
  /** Numbers and queues (or holds, while the service restarts) a client message; false past the bound or when the service failed. */
  deliverMessage(message: ClientMessageFields): boolean;
  /** Queues a control message; false when the service cannot take it. */
  deliver(message: Exclude<MasterToService, { type: 'message' }>, mustKeep?: boolean): boolean;
  /** Whether the service runs now (requests are answered 503 otherwise, not held). */
  readonly available: boolean;
}

export interface WorkerLink {
  deliver(message: MasterToWorker, mustKeep?: boolean): boolean;
}

export interface BrokerLinks {
  service(name: string): ServiceLink | undefined;
  worker(id: number): WorkerLink | undefined;
  workers(): Iterable<WorkerLink>;
}

export interface BrokerStats {
  /** Messages from services dropped because they addressed a client not theirs (or a malformed id). */
  foreignAddressDrops: number;
  /** Messages from services dropped because the client had already gone (a benign race). */
  goneClientDrops: number;
  /** Client messages refused because the service's queue was full; the client was closed with 1013. */
  serviceQueueFull: number;
  /** Messages to workers refused because the worker's queue was full. */
  workerQueueFull: number;
  /** HTTP requests answered 503 because the service was down or its queue full. */
  requestsRefused: number;
}

export type ClientRoutedMessage = Extract<WorkerToMaster, { type: 'connect' | 'message' | 'close' | 'request' }>;
export type ServiceRoutedMessage = Extract<ServiceToMaster, { type: 'send' | 'broadcast' | 'close' | 'subscribe' | 'unsubscribe' | 'publish' | 'response' }>;

/** Seconds a client is told to wait before retrying a request to a service that is down. */
const RETRY_AFTER_SECONDS = '1';

export class Broker {
  readonly stats: BrokerStats = { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, workerQueueFull: 0, requestsRefused: 0 };
  readonly topics = new TopicRouter();
  private readonly clients = new Map<string, ClientInfo>();
  private readonly clientsByWorker = new Map<number, Set<string>>();
  /**
   * HTTP requests in flight: rid → the service they went to and when the
   * worker stops waiting. Entries leave with the answer, the service's or the
   * worker's end, or (pruned from the oldest on each new request) once expired.
   */
  private readonly requests = new Map<string, { readonly service: string; readonly expires: number }>();

  constructor(
    private readonly links: BrokerLinks,
    private readonly log: Logger,
    /** How long a worker waits for an HTTP answer (options.requestTimeout). */
    private readonly requestTimeout = 10_000,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Clients currently connected to `service`, in connection order. */
  *clientsOf(service: string): IterableIterator<ClientInfo> {
    for (const client of this.clients.values()) if (client.service === service) yield client;
  }

  clientsOnWorker(workerId: number): number {
    return this.clientsByWorker.get(workerId)?.size ?? 0;
  }

  fromWorker(workerId: number, message: ClientRoutedMessage): void {
    switch (message.type) {
      case 'connect': {
        const { client } = message;
        const service = this.links.service(client.service);
        if (workerOfClientId(client.id) !== workerId || service === undefined) {
          this.log.warn({ worker: workerId, client: client.id, service: client.service }, 'connect with a foreign id or unknown service ignored');
          return;
        }
        this.clients.set(client.id, client);
        let ids = this.clientsByWorker.get(workerId);
        if (ids === undefined) {
          ids = new Set();
          this.clientsByWorker.set(workerId, ids);
        }
        ids.add(client.id);
        if (!service.deliver({ type: 'connect', client }, true)) {
          this.log.warn({ service: client.service, client: client.id }, 'service failed; closing new client with 1011');
          this.links.worker(workerId)?.deliver({ type: 'close', id: client.id, code: CLOSE_CODES.INTERNAL_ERROR, reason: 'service failed' }, true);
        }
        return;
      }
      case 'message': {
        const service = this.links.service(message.service);
        if (service === undefined) return;
        if (!service.deliverMessage(message)) {
          this.stats.serviceQueueFull++;
          this.log.warn({ service: message.service, client: message.id }, 'service queue full; closing client with 1013');
          this.links.worker(workerId)?.deliver({ type: 'close', id: message.id, code: CLOSE_CODES.TRY_AGAIN_LATER, reason: 'service busy, try again later' }, true);
        }
        return;
      }
      case 'close': {
        const client = this.clients.get(message.id);
        if (client === undefined) return;
        this.forget(workerId, client);
        this.links.service(client.service)?.deliver({ type: 'close', id: message.id, code: message.code, reason: message.reason }, true);
        return;
      }
      case 'request': {
        const { service: name, type: _type, ...request } = message;
        const service = this.links.service(name);
        if (service !== undefined && service.available && service.deliver({ type: 'request', ...request })) {
          const now = Date.now();
          for (const [rid, entry] of this.requests) {
            if (entry.expires > now) break;
            this.requests.delete(rid);
          }
          this.requests.set(message.rid, { service: name, expires: now + this.requestTimeout });
          return;
        }
        this.stats.requestsRefused++;
        const body = JSON.stringify({ error: 'SY_ERR_SERVICE_UNAVAILABLE', message: `service "${name}" is not available` });
        this.links.worker(workerId)?.deliver(
          { type: 'response', rid: message.rid, status: 503, headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': RETRY_AFTER_SECONDS }, data: body },
          true,
        );
        return;
      }
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  fromService(service: string, message: ServiceRoutedMessage): void {
    switch (message.type) {
      case 'send': {
        const worker = this.ownWorker(service, message.id, message.type);
        if (worker !== undefined) this.toWorker(worker, message, service);
        return;
      }
      case 'close': {
        const worker = this.ownWorker(service, message.id, message.type);
        worker?.deliver(message, true);
        return;
      }
      case 'broadcast': {
        const forwarded: MasterToWorker = { ...message, service };
        for (const worker of this.links.workers()) this.toWorker(worker, forwarded, service);
        return;
      }
      case 'subscribe':
      case 'unsubscribe': {
        const worker = this.ownWorker(service, message.id, message.type);
        if (worker === undefined) return;
        const changed = message.type === 'subscribe'
          ? this.topics.subscribe(service, message.id, message.topic)
          : this.topics.unsubscribe(service, message.id, message.topic);
        // Subscriptions are control state: losing one would silently stop deliveries.
        if (changed) worker.deliver({ type: message.type, service, topic: message.topic, id: message.id }, true);
        return;
      }
      case 'publish': {
        const forwarded: MasterToWorker = { ...message, service };
        for (const workerId of this.topics.workersFor(service, message.topic)) {
          const worker = this.links.worker(workerId);
          if (worker !== undefined) this.toWorker(worker, forwarded, service);
        }
        return;
      }
      case 'response': {
        // Only the service a request went to may answer it (rids are guessable).
        if (this.requests.get(message.rid)?.service !== service) {
          this.stats.foreignAddressDrops++;
          this.log.warn({ service, rid: message.rid }, 'service answered a request it was not sent; dropped');
          return;
        }
        this.requests.delete(message.rid);
        const workerId = workerOfClientId(message.rid);
        const worker = workerId === undefined ? undefined : this.links.worker(workerId);
        if (worker === undefined) {
          this.log.debug({ service, rid: message.rid }, 'response for a worker that is gone; dropped');
          return;
        }
        worker.deliver(message, true);
        return;
      }
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** A service instance is gone: the requests it had are answered by the workers' timeouts (504). */
  forgetRequestsOf(service: string): void {
    for (const [rid, entry] of this.requests) if (entry.service === service) this.requests.delete(rid);
  }

  /** Forgets a service's topic subscriptions (a new instance starts without any) and undoes them at the workers. */
  dropTopicsOf(service: string): number {
    const removed = this.topics.removeService(service);
    for (const { id, topic } of removed) {
      const workerId = workerOfClientId(id);
      if (workerId !== undefined) this.links.worker(workerId)?.deliver({ type: 'unsubscribe', service, topic, id }, true);
    }
    return removed.length;
  }

  /** Closes every client of `service` (it failed) with `code`. */
  closeClientsOf(service: string, code: number, reason: string): number {
    let closed = 0;
    for (const client of this.clientsOf(service)) {
      const workerId = workerOfClientId(client.id);
      if (workerId === undefined) continue;
      this.links.worker(workerId)?.deliver({ type: 'close', id: client.id, code, reason }, true);
      closed++;
    }
    return closed;
  }

  /**
   * A worker is gone: every service hears `onClose` (1006) for each client it
   * held. Returns how many clients that was.
   */
  workerGone(workerId: number): number {
    for (const rid of this.requests.keys()) if (workerOfClientId(rid) === workerId) this.requests.delete(rid);
    const ids = this.clientsByWorker.get(workerId);
    if (ids === undefined) return 0;
    this.clientsByWorker.delete(workerId);
    for (const id of ids) {
      const client = this.clients.get(id);
      this.clients.delete(id);
      if (client === undefined) continue;
      this.topics.removeClient(client.service, id);
      this.links.service(client.service)?.deliver({ type: 'close', id, code: CLOSE_CODES.ABNORMAL, reason: 'worker exited' }, true);
    }
    return ids.size;
  }

  private ownWorker(service: string, id: string, action: string): WorkerLink | undefined {
    const client = this.clients.get(id);
    const workerId = workerOfClientId(id);
    const worker = workerId === undefined ? undefined : this.links.worker(workerId);
    if (client === undefined && workerId !== undefined) {
      this.stats.goneClientDrops++;
      this.log.debug({ service, client: id, action }, 'client already gone; dropped');
      return undefined;
    }
    if (client === undefined || client.service !== service || worker === undefined) {
      this.stats.foreignAddressDrops++;
      this.log.warn({ service, client: id, action }, 'service addressed a client that is not its own; dropped');
      return undefined;
    }
    return worker;
  }

  private toWorker(worker: WorkerLink, message: MasterToWorker, service: string): void {
    if (worker.deliver(message)) return;
    this.stats.workerQueueFull++;
    this.log.warn({ service, type: message.type }, 'worker queue full; message to that worker dropped');
  }

  private forget(workerId: number, client: ClientInfo): void {
    this.clients.delete(client.id);
    this.clientsByWorker.get(workerId)?.delete(client.id);
    this.topics.removeClient(client.service, client.id);
  }
}
