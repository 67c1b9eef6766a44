/**
 * The routing layer: which worker holds which client, which service each
 * client belongs to, and the forwarding of payloads between them. Payloads are
 * never parsed here. A service may address only its own clients; anything else
 * it sends is dropped, counted and logged.
 */
import { workerOfClientId } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import type { ClientInfo, MasterToService, MasterToWorker, ServiceToMaster, WorkerToMaster } from '../protocol';

export interface ServiceLink {
  /** Queues (or holds, while the service restarts) a message; false past the bound. */
  deliver(message: MasterToService, mustKeep?: boolean): boolean;
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
}

type ClientRoutedMessage = Extract<WorkerToMaster, { type: 'connect' | 'message' | 'close' }>;
type ServiceRoutedMessage = Extract<ServiceToMaster, { type: 'send' | 'broadcast' | 'close' }>;

export class Broker {
  readonly stats: BrokerStats = { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, workerQueueFull: 0 };
  private readonly clients = new Map<string, ClientInfo>();
  private readonly clientsByWorker = new Map<number, Set<string>>();

  constructor(
    private readonly links: BrokerLinks,
    private readonly log: Logger,
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
        if (workerOfClientId(client.id) !== workerId || this.links.service(client.service) === undefined) {
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
        this.links.service(client.service)?.deliver({ type: 'connect', client }, true);
        return;
      }
      case 'message': {
        const service = this.links.service(message.service);
        if (service === undefined) return;
        const forwarded: MasterToService = message.binary === true
          ? { type: 'message', id: message.id, data: message.data, binary: true }
          : { type: 'message', id: message.id, data: message.data };
        if (!service.deliver(forwarded)) {
          this.stats.serviceQueueFull++;
          this.log.warn({ service: message.service, client: message.id }, 'service queue full; closing client with 1013');
          this.links.worker(workerId)?.deliver({ type: 'close', id: message.id, code: CLOSE_CODES.TRY_AGAIN_LATER, reason: 'service busy, try again later' }, true);
        }
        return;
      }
      case 'close': {
        const client = this.clients.get(message.id);
        if (client === undefined) return;
        this.forget(workerId, message.id);
        this.links.service(client.service)?.deliver({ type: 'close', id: message.id, code: message.code, reason: message.reason }, true);
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
      case 'send':
      case 'close': {
        const worker = this.ownWorker(service, message.id, message.type);
        if (worker === undefined) return;
        if (!worker.deliver(message, message.type === 'close')) {
          this.stats.workerQueueFull++;
          this.log.warn({ service, client: message.id }, 'worker queue full; message to client dropped');
        }
        return;
      }
      case 'broadcast': {
        const forwarded: MasterToWorker = { ...message, service };
        for (const worker of this.links.workers()) {
          if (!worker.deliver(forwarded)) {
            this.stats.workerQueueFull++;
            this.log.warn({ service }, 'worker queue full; broadcast to that worker dropped');
          }
        }
        return;
      }
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * A worker is gone: every service hears `onClose` (1006) for each client it
   * held. Returns how many clients that was.
   */
  workerGone(workerId: number): number {
    const ids = this.clientsByWorker.get(workerId);
    if (ids === undefined) return 0;
    this.clientsByWorker.delete(workerId);
    for (const id of ids) {
      const client = this.clients.get(id);
      this.clients.delete(id);
      if (client === undefined) continue;
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

  private forget(workerId: number, id: string): void {
    this.clients.delete(id);
    this.clientsByWorker.get(workerId)?.delete(id);
  }
}
