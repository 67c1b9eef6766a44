/**
 * Runs one service instance: turns the messages its workers' links carry into
 * handler calls. The master only starts, stops and queries it.
 *
 * Read top-down, as a message flows: a link's events (`fromWorker`: connect,
 * message, close, request), a worker that goes, then the master's messages
 * and stop. A (re)started instance first waits for every worker's resumes
 * before it handles any other event (`resume-gate.ts`, `expectResumes`).
 * Per-client order is client-lanes.ts, and each event is acknowledged once
 * its handler settled (ack-batch.ts); envelope requests are answered in
 * envelope-answer.ts, HTTP requests in http-requests.ts (concurrently,
 * outside any client's order). The service's actions reach the workers
 * through host-transport.ts. A handler that throws or rejects is logged and
 * counted; the service keeps running. A request (either kind) holds nothing
 * past `requestTimeout`: not its client's next events, not a stop; what its
 * handler does later is counted and logged, never sent (request-overruns.ts).
 */
import { workerOfClientId } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import type { LinkControl, MasterToService, Payload, ServiceToMaster, WorkerToService } from '../protocol';
import { decodePayload } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import { AckBatch } from './ack-batch';
import { ClientLanes, type ClientLanesHooks } from './client-lanes';
import { answerEnvelope, maxReplyLength, type EnvelopeContext, type EnvelopeOutcome } from './envelope-answer';
import { HttpRequests } from './http-requests';
import { RequestOverruns, type OverrunStats } from './request-overruns';
import { looksLikeRequest } from './request-envelope';
import { clientFromInfo, type Client } from './client';
import { HostTransport, type DeliveryStats, type WorkerPorts } from './host-transport';
import { ResumeGate, type GateOpening, type HeldMessage } from './resume-gate';
import type { InstancePlacement, MessageInfo, Service, ServiceInternals } from './service';
import type { ServiceMetrics } from './service-metrics';
import { WorkerInterest } from './worker-interest';
import { deliverTyped, typedIntakeFor, type TypedIntake, type TypedStats } from './typed-intake';

export interface ServiceHostStats extends DeliveryStats, OverrunStats, TypedStats {
  handlerErrors: number;
  unknownClientEvents: number;
}

/** Where the host's messages go: the workers' links and the peers (`WorkerPorts`), and the master. */
export interface ServicePorts extends WorkerPorts {
  toMaster(message: ServiceToMaster): void;
  /** Resolves once every link has closed (the workers are gone). */
  linksClosed(): Promise<void>;
  /** Accepts no more links. */
  stopListening(): void;
}

export interface ServiceHostOptions {
  /** How long a WebSocket request may take before it is answered with SY_ERR_REQUEST_TIMEOUT. */
  readonly requestTimeout: number;
  /** The byte bound of each worker's link queue (`ipcMaxQueuedBytes`): envelope replies past it are answered with an error. Default: no bound besides MAX_MESSAGE_LENGTH. */
  readonly linkMaxBytes?: number;
  readonly metrics?: ServiceMetrics;
  /** Which instance this process runs. Default: instance 0 of 1. */
  readonly placement?: InstancePlacement;
  /** Called with each handler failure, after it is logged and counted (the test harness, switchyard/testing, reports them). Default: none. */
  readonly onHandlerError?: (error: unknown, clientId: string | undefined) => void;
}

export class ServiceHost {
  readonly stats: ServiceHostStats = { handlerErrors: 0, unknownClientEvents: 0, undeliverable: 0, backlogCloses: 0, lateSettlements: 0, invalidJson: 0, invalidSchema: 0 };
  private readonly internals: ServiceInternals;
  private readonly lanes: ClientLanes;
  private readonly envelopes: EnvelopeContext;
  private readonly interest = new WorkerInterest();
  /** How the service's actions reach the workers (and the peers). */
  private readonly transport: HostTransport;
  private readonly acks: AckBatch;
  /** Only for a typed service (`messageFormat` or `messageSchema`): how its messages are parsed and checked. */
  private readonly typed: TypedIntake | undefined;
  /** HTTP requests being answered: a stop waits for them too. */
  private readonly http: HttpRequests;
  /** Requests (either transport) that outlived `requestTimeout`. */
  private readonly overruns: RequestOverruns;
  private idleWaiters: Array<() => void> = [];
  private stopping = false;
  /** A reload retires this instance: nothing more from the links is handled (nor acknowledged). */
  private retiring = false;
  /** Until every expected worker has resumed its clients: events wait (see `expectResumes`). None on a first start. */
  private gate: ResumeGate | undefined;
  // A link peer can trigger each of these once per message: throttled so that a broken or hostile one cannot flood the log.
  private readonly foreignClientWarning: ThrottledWarning;
  private readonly unknownClientWarning: ThrottledWarning;
  private readonly duplicateConnectWarning: ThrottledWarning;

  constructor(
    private readonly service: Service<unknown, unknown>,
    private readonly name: string,
    private readonly ports: ServicePorts,
    private readonly log: Logger,
    private readonly options: ServiceHostOptions = { requestTimeout: 10_000 },
  ) {
    this.foreignClientWarning = new ThrottledWarning(log, 'event for a client of another worker ignored');
    this.unknownClientWarning = new ThrottledWarning(log, 'event for an unknown client ignored');
    this.duplicateConnectWarning = new ThrottledWarning(log, 'duplicate connect ignored');
    this.acks = new AckBatch(ports);
    this.overruns = new RequestOverruns(name, options.requestTimeout, this.stats, options.metrics, log);
    const lanes: ClientLanesHooks = {
      failed: (id, error) => this.handlerFailed(id, error),
      settled: (worker, seq) => this.acks.add(worker, seq),
      idle: () => this.notifyIfIdle(),
      // Only envelope requests run in a lane with a timeout.
      expired: (id) => this.overruns.expired('websocket', id),
      late: (id, outcome, error) => this.overruns.late('websocket', id, outcome, error),
    };
    this.lanes = new ClientLanes(lanes);
    this.envelopes = {
      service,
      requestTimeout: options.requestTimeout,
      maxReplyLength: maxReplyLength(options.linkMaxBytes ?? Number.POSITIVE_INFINITY),
      count: (outcome: EnvelopeOutcome) => this.options.metrics?.countRequest('websocket', outcome),
      failed: (client: Client, error: unknown) => this.handlerFailed(client.id, error),
    };
    this.transport = new HostTransport(service, name, ports, this.interest, this.stats, options.placement, log);
    this.internals = this.transport.internals;
    this.http = new HttpRequests({
      service,
      name,
      requestTimeout: options.requestTimeout,
      metrics: options.metrics,
      overruns: this.overruns,
      links: this.transport,
      failed: (error) => this.handlerFailed(undefined, error),
      settled: () => this.notifyIfIdle(),
    });
    this.typed = typedIntakeFor(service, this.lanes, this.stats, this.acks);
  }

  /** Runs `onStart`; rejects with whatever it threw. */
  async start(): Promise<void> {
    await this.service.onStart();
  }

  /** Handles one message from a worker's link. */
  fromWorker(worker: number, message: WorkerToService): void {
    if (this.retiring) {
      // Nothing more is handled nor acknowledged: the workers give it all to the next instance. Requests are not kept: refused now.
      if (message.type === 'request' || message.type === 'publish') this.http.refuse(worker, message.rid);
      return;
    }
    if (this.gate !== undefined) {
      const verdict = this.gate.admit(worker, message);
      if (verdict === 'held') return;
      if (verdict === 'refuse') {
        if (message.type === 'request' || message.type === 'publish') this.http.refuse(worker, message.rid);
        return;
      }
    }
    switch (message.type) {
      case 'connect': {
        const { seq } = message;
        this.acks.due();
        const client = clientFromInfo(message.client, message.resumed === true);
        if (workerOfClientId(client.id) !== worker) {
          if (seq !== undefined) this.acks.add(worker, seq);
          return this.foreignClient(worker, client.id, 'connect');
        }
        if (this.internals.clients.has(client.id)) {
          if (seq !== undefined) this.acks.add(worker, seq);
          this.stats.unknownClientEvents++;
          this.duplicateConnectWarning.warn({ client: client.id });
          return;
        }
        this.internals.clients.set(client.id, client);
        if (client.user !== undefined) this.internals.users.add(client.user, client.id);
        // The lane may still hold this id's previous close (a link that broke and came back): the connect runs after it.
        this.lanes.open(client.id);
        // A resumed connect is acknowledged by nothing. While the gate waits it counts every onConnect until settled, a replayed new one too (resume-gate.ts).
        const counted = this.gate?.connectStarted(worker);
        // The common case (a new connect, no gate) as a message is run: no closure per connect.
        if (seq !== undefined && counted === undefined) return this.lanes.call(client.id, this.service, this.service.onConnect, client, undefined, undefined, worker, seq);
        let settled: (() => void) | undefined;
        if (seq === undefined) settled = counted;
        else if (counted !== undefined) {
          settled = () => {
            this.acks.add(worker, seq);
            counted();
          };
        }
        this.lanes.run(client.id, () => this.service.onConnect(client), settled);
        return;
      }
      case 'message': {
        const { seq } = message;
        this.acks.due();
        const client = this.internals.clients.get(message.id);
        if (client !== undefined && workerOfClientId(message.id) !== worker) {
          this.acks.add(worker, seq);
          return this.foreignClient(worker, message.id, 'message');
        }
        if (client === undefined) {
          // Nothing will handle it (the client left while it was redelivered): done with it.
          this.acks.add(worker, seq);
          return this.unknownClient(message.id, 'message');
        }
        if (message.ts !== undefined) this.options.metrics?.observeDelivery(message.ts);
        const data = decodePayload(message);
        if (typeof data === 'string' && looksLikeRequest(data)) {
          // At the timeout the client has its SY_ERR_REQUEST_TIMEOUT and its order moves on: the event is acknowledged, the next ones run.
          this.lanes.run(client.id, () => answerEnvelope(this.envelopes, client, data), () => this.acks.add(worker, seq), this.options.requestTimeout);
          return;
        }
        const info: MessageInfo = { seq, redelivered: message.redelivered === true };
        if (this.typed !== undefined) return deliverTyped(this.typed, client, data, info, worker, seq);
        this.lanes.call(client.id, this.service, this.service.onMessage, client, data, info, worker, seq);
        return;
      }
      case 'closed': {
        const { seq } = message;
        this.acks.due();
        if (workerOfClientId(message.id) !== worker) {
          this.acks.add(worker, seq);
          return this.foreignClient(worker, message.id, 'closed');
        }
        this.clientClosed(message.id, message.code, message.reason, () => this.acks.add(worker, seq));
        return;
      }
      case 'request':
        this.http.answer(worker, message);
        return;
      case 'publish':
        this.http.publish(worker, message);
        return;
      case 'interest':
        this.interest.report(worker, message.topic, message.on);
        return;
      case 'resumeEnd':
        this.gate?.resumeEnded(worker);
        return;
      case 'hello':
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Runs `onClose` in the client's lane; `settled` (the ack) once it has settled, or at once for an unknown client. */
  private clientClosed(id: string, code: number, reason: string, settled?: () => void): void {
    this.transport.closeArrived(id);
    const client = this.internals.clients.get(id);
    if (client === undefined) {
      settled?.();
      return this.unknownClient(id, 'closed');
    }
    // Gone from `clients` and from its topics at once, so nothing is sent to it from here on.
    this.internals.clients.delete(id);
    if (client.user !== undefined) this.internals.users.remove(client.user, id);
    const worker = workerOfClientId(id);
    for (const topic of this.internals.topics.removeClient(id)) if (worker !== undefined) this.interest.remove(worker, topic);
    // The lane goes with the close, unless the client was resumed meanwhile: its events wait in it.
    this.lanes.run(id, () => this.service.onClose(client, code, reason), () => {
      if (!this.internals.clients.has(id)) this.lanes.delete(id);
      settled?.();
    });
  }

  /**
   * Called once, when the instance starts serving its links: it handles no
   * client message or close (connects run) until each of `workers` (those
   * the master admitted) has sent its link's `resumeEnd` and the
   * `onConnect`s started meanwhile have settled, or until `timeoutMs` after the first message from any
   * worker; what arrives meanwhile waits in order (requests: at most
   * `maxRequests`, further ones are answered 503). No worker: nothing waits.
   */
  expectResumes(workers: Iterable<number>, timeoutMs: number, maxRequests: number): void {
    const gate = new ResumeGate({ workers, timeoutMs, maxRequests, opened: (held, why, late) => this.gateOpened(held, why, late, timeoutMs) });
    this.gate = gate;
    gate.start();
  }

  /** Worker `worker` exited (the master revoked it): the gate no longer waits for it. */
  workerRevoked(worker: number): void {
    this.gate?.revoked(worker);
  }

  private gateOpened(held: readonly HeldMessage[], why: GateOpening, late: readonly number[], timeoutMs: number): void {
    this.gate = undefined;
    if (why === 'deadline') this.log.warn({ service: this.name, workers: late, timeoutMs }, 'resume deadline passed: serving without waiting for these workers to resume their clients');
    for (const { worker, message } of held) this.fromWorker(worker, message);
  }

  /** A worker's link closed: each of its clients is gone (1006), as a worker crash would leave them. */
  workerGone(worker: number, reason = 'worker exited'): void {
    this.gate?.linkClosed(worker);
    // Acks of handlers that settled this turn still go: a remote worker's link kept across a drop (link-server.ts,
    // orphans) delivers them when that worker links again, so its events are not replayed as never handled.
    this.acks.flushWorker(worker);
    this.interest.dropWorker(worker);
    const gone: string[] = [];
    for (const id of this.internals.clients.keys()) if (workerOfClientId(id) === worker) gone.push(id);
    for (const id of gone) this.clientClosed(id, CLOSE_CODES.ABNORMAL, reason);
  }

  /** Handles one message from the master (those about who may link go to the link server). */
  fromMaster(message: Exclude<MasterToService, LinkControl>): void {
    switch (message.type) {
      case 'metricsRequest': {
        const metrics = this.options.metrics;
        if (metrics === undefined) return this.ports.toMaster({ type: 'metrics', qid: message.qid, metrics: [] });
        metrics.setHandlerErrors(this.stats.handlerErrors);
        metrics.setUndeliverable(this.stats.undeliverable);
        metrics.setBacklogClosed(this.stats.backlogCloses);
        metrics.setInvalidMessages(this.stats.invalidJson, this.stats.invalidSchema);
        void metrics.snapshot().then((snapshot) => this.ports.toMaster({ type: 'metrics', qid: message.qid, metrics: snapshot }));
        return;
      }
      case 'stop':
        void this.stop(message.mode);
        return;
      case 'ping':
        // Answered from this event loop: a blocked or stopped loop answers nothing, which is the point.
        this.ports.toMaster({ type: 'pong' });
        return;
      case 'peerUp':
        this.ports.peers?.peerUp(message.instance, message.endpoint, message.secret);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * Stops the instance and reports `stopped`. `shutdown`: reads every link to
   * its end first, so each client's close is handled before `onStop`.
   * `retire` (a reload): handles nothing more, finishes what runs, runs
   * `onStop`, and tells each link that what it has not acknowledged was never
   * handled, so the next instance gets it unmarked.
   */
  async stop(mode: 'retire' | 'shutdown' = 'shutdown'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ports.stopListening();
    if (mode === 'retire') this.retiring = true;
    // What waited at the gate is handled now (a shutdown: every close reaches onClose) or given back (a retire: refused, unacknowledged).
    this.gate?.stop();
    if (mode !== 'retire') await this.ports.linksClosed();
    await this.whenIdle();
    try {
      await this.service.onStop();
    } catch (error) {
      this.stats.handlerErrors++;
      this.log.error({ err: error, handler: 'onStop' }, 'service handler failed');
    }
    if (mode === 'retire') {
      this.acks.flush();
      for (const worker of [...this.ports.workers()]) this.ports.toWorker(worker, { type: 'retired' });
    }
    this.ports.toMaster({ type: 'stopped' });
  }

  /** Resolves once no handler is running or waiting. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.http.inFlight === 0 && this.lanes.idle;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A link named a client of another worker: a broken or hostile peer. Counted, logged, acknowledged so its worker forgets it. */
  private foreignClient(worker: number, id: string, event: string): void {
    this.stats.unknownClientEvents++;
    this.foreignClientWarning.warn({ client: id, worker, event });
  }

  private unknownClient(id: string, event: string): void {
    this.stats.unknownClientEvents++;
    this.unknownClientWarning.warn({ client: id, event });
  }

  /** A message from peer instance `from`, for `onPeerMessage`: in arrival order, not awaited. */
  fromPeer(from: number, payload: Payload): void {
    if (this.stopping || this.retiring) return;
    this.runPeerHandler(() => this.service.onPeerMessage(from, decodePayload(payload)));
  }

  /** Peer instance `instance` can be reached (a process of it came up): `onPeerUp`. */
  peerUp(instance: number): void {
    if (this.stopping || this.retiring) return;
    this.runPeerHandler(() => this.service.onPeerUp(instance));
  }

  /** This instance's own subscribers of `topic`, for a peer that asks. */
  subscriberCount(topic: string): number {
    return this.internals.topics.count(topic);
  }

  private runPeerHandler(handler: () => void | Promise<void>): void {
    try {
      const result = handler();
      if (result instanceof Promise) result.catch((error: unknown) => this.handlerFailed(undefined, error));
    } catch (error) {
      this.handlerFailed(undefined, error);
    }
  }

  private handlerFailed(id: string | undefined, error: unknown): void {
    this.stats.handlerErrors++;
    this.log.error({ err: error, service: this.name, client: id }, 'service handler failed');
    this.options.onHandlerError?.(error, id);
  }
}
