/**
 * How a service's actions leave its process (`ServiceTransport`, service.ts):
 * as messages to the worker that holds each client (a client id names its
 * worker), to every worker for a broadcast, to the workers that reported
 * interest in a topic for a publish, and to the peer instances. Separate from
 * the host (service-host.ts), which turns the links' events into handler
 * calls: this is the other direction, and what it owns is what a refused
 * message costs — counted, logged, and its clients closed with 1013
 * (`backlog-closer.ts`).
 *
 * On the per-reply path: `Service.send` calls `send` here directly, as it
 * called the host's transport closures before; nothing is allocated here but
 * the message itself.
 */
import { workerOfClientId } from '../client-id';
import type { Logger } from '../logger';
import type { Payload, ServiceToWorker } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import { BacklogCloser } from './backlog-closer';
import type { InstancePlacement, Service, ServiceInternals, ServiceTransport } from './service';
import { Service as ServiceBase } from './service';
import type { WorkerInterest } from './worker-interest';

/** What the host needs of `Peers`. */
export interface PeerPort {
  peerUp(instance: number, endpoint: string, secret: string): void;
  send(to: number, payload: Payload): boolean;
  broadcast(payload: Payload): number;
  clusterCount(topic: string, own: number): Promise<number>;
}

/** Where the service's actions go (the host's `ServicePorts` adds the master's side). */
export interface WorkerPorts {
  /** Queues a message on a worker's link; false when there is no such link or its queue is full. */
  toWorker(worker: number, message: ServiceToWorker): boolean;
  /** Workers linked now. */
  workers(): Iterable<number>;
  /** Resolves once every link's queue has been written out (or its link closed). */
  drained(): Promise<void>;
  /** The other instances of the service, when it runs several (see peers.ts). */
  readonly peers?: PeerPort;
}

/** What the transport counts, in the host's stats. */
export interface DeliveryStats {
  /** Messages for a worker with no link (it has just gone) or a full link queue: dropped. */
  undeliverable: number;
  /** Clients closed with 1013 "service backlog full" because a message to them was dropped at a full link queue. */
  backlogCloses: number;
}

export class HostTransport implements ServiceTransport {
  /** The state the service shares with its host: its clients, their topics, their users. */
  readonly internals: ServiceInternals;
  private readonly backlog: BacklogCloser;
  /** A worker that just went away is routine; a full queue means a worker that cannot keep up: throttled. */
  private readonly droppedWarning: ThrottledWarning;

  /** Attaches itself to `service`: from here on the service's actions come here. */
  constructor(
    service: Service<unknown, unknown>,
    name: string,
    private readonly ports: WorkerPorts,
    private readonly interest: WorkerInterest,
    private readonly stats: DeliveryStats,
    placement: InstancePlacement | undefined,
    log: Logger,
  ) {
    this.droppedWarning = new ThrottledWarning(log, 'no link to that worker, or its queue is full; message dropped, the clients that missed it closed with 1013');
    this.internals = ServiceBase.attach(service, name, this, placement, log);
    // Its closes skip the queue bound (closeClient is must-keep), so they are never refused in turn.
    this.backlog = new BacklogCloser(this.internals, (worker, id, code, reason) => {
      this.stats.backlogCloses++;
      this.toWorker(worker, { type: 'closeClient', id, code, reason });
    });
  }

  send(id: string, payload: Payload): boolean {
    const worker = workerOfClientId(id);
    if (worker === undefined || this.backlog.isClosing(id)) return false;
    if (this.toWorker(worker, { type: 'send', id, ...payload })) return true;
    this.backlog.refusedSend(worker, id);
    return false;
  }

  broadcast(payload: Payload, except: readonly string[] | undefined): number {
    const message: ServiceToWorker = except === undefined || except.length === 0 ? { type: 'broadcast', ...payload } : { type: 'broadcast', except, ...payload };
    let missed = 0;
    for (const worker of this.ports.workers()) if (!this.toWorker(worker, message)) missed += this.backlog.refusedBroadcast(worker, except);
    return missed;
  }

  close(id: string, code: number, reason: string): void {
    const worker = workerOfClientId(id);
    if (worker !== undefined) this.toWorker(worker, { type: 'closeClient', id, code, reason });
  }

  subscribe(id: string, topic: string): void {
    const worker = workerOfClientId(id);
    if (worker === undefined) return;
    this.interest.add(worker, topic);
    this.toWorker(worker, { type: 'subscribe', id, topic });
  }

  unsubscribe(id: string, topic: string): void {
    const worker = workerOfClientId(id);
    if (worker === undefined) return;
    this.interest.remove(worker, topic);
    this.toWorker(worker, { type: 'unsubscribe', id, topic });
  }

  publish(topic: string, payload: Payload, except: readonly string[] | undefined): number {
    const message: ServiceToWorker = except === undefined || except.length === 0 ? { type: 'publish', topic, ...payload } : { type: 'publish', topic, except, ...payload };
    let missed = 0;
    for (const worker of this.interest.workersFor(topic)) if (!this.toWorker(worker, message)) missed += this.backlog.refusedPublish(worker, topic, except);
    return missed;
  }

  subscribedElsewhere(topic: string): boolean {
    return this.interest.reportedAnywhere(topic);
  }

  peerSend(instance: number, payload: Payload): boolean {
    return this.ports.peers?.send(instance, payload) ?? false;
  }

  peerBroadcast(payload: Payload): number {
    return this.ports.peers?.broadcast(payload) ?? 0;
  }

  clusterSubscribers(topic: string): Promise<number> {
    const own = this.internals.topics.count(topic);
    return this.ports.peers === undefined ? Promise.resolve(own) : this.ports.peers.clusterCount(topic, own);
  }

  drained(): Promise<void> {
    return this.ports.drained();
  }

  /** Client `id`'s close arrived: it may be closed for a dropped message again, should it come back. */
  closeArrived(id: string): void {
    this.backlog.forget(id);
  }

  /** Queues `message` on `worker`'s link; false, counted and logged (throttled), when the link is gone or its queue full. */
  toWorker(worker: number, message: ServiceToWorker): boolean {
    if (this.ports.toWorker(worker, message)) return true;
    this.stats.undeliverable++;
    this.droppedWarning.warn({ worker, type: message.type, dropped: this.stats.undeliverable });
    return false;
  }
}
