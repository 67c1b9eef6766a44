/**
 * Runs one service instance: turns the messages its workers' links carry into
 * handler calls, and the service's actions into messages to the workers that
 * hold the clients concerned (a client id names its worker). The master only
 * starts, stops and queries it.
 *
 * Read top-down, as a message flows: the service's actions (constructor), a
 * link's events (`fromWorker`: connect, message, close, request), the acks
 * they earn, a worker that goes, then the master's messages and stop. A
 * (re)started instance first waits for every worker's resumes before it
 * handles any other event (`resume-gate.ts`, `expectResumes`).
 * Per-client order is client-lanes.ts; envelope requests are answered in
 * envelope-answer.ts, HTTP requests in request-answer.ts. A handler that
 * throws or rejects is logged and counted; the service keeps running. HTTP
 * requests run concurrently, outside any client's order. A request (either
 * kind) holds nothing past `requestTimeout`: not its client's next events,
 * not a stop; what its handler does later is counted and logged, never sent.
 */
import { workerOfClientId } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import type { ClientInfo, HttpRequestFields, LinkControl, MasterToService, Payload, ServiceToMaster, ServiceToWorker, WorkerToService } from '../protocol';
import { decodePayload, sharedIfEmpty } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import { ClientLanes, type ClientLanesHooks } from './client-lanes';
import { EXPIRED, settleWithin, type LateOutcome } from './deadline';
import { answerEnvelope, maxReplyLength, type EnvelopeContext, type EnvelopeOutcome } from './envelope-answer';
import { answerHttp, publishAnswer, unavailableAnswer, type HttpAnswer } from './request-answer';
import { looksLikeRequest } from './request-envelope';
import type { Client } from './client';
import { BacklogCloser } from './backlog-closer';
import { ResumeGate, type GateOpening, type HeldMessage } from './resume-gate';
import type { InstancePlacement, MessageInfo, Service, ServiceInternals } from './service';
import { Service as ServiceBase } from './service';
import type { ServiceMetrics } from './service-metrics';
import { WorkerInterest } from './worker-interest';
import { deliverTyped, type TypedIntake } from './typed-intake';
import { MessageDecoder, type Rejection } from './typed-messages';

export interface ServiceHostStats {
  handlerErrors: number;
  unknownClientEvents: number;
  /** Messages for a worker with no link (it has just gone) or a full link queue: dropped. */
  undeliverable: number;
  /** Clients closed with 1013 "service backlog full" because a message to them was dropped at a full link queue. */
  backlogCloses: number;
  /** Requests whose handler settled after `requestTimeout` (already answered by the timeout): result ignored. */
  lateSettlements: number;
  /** Messages to a typed service that were not JSON text: answered with SY_ERR_INVALID_MESSAGE, not handled. */
  invalidJson: number;
  /** Messages to a typed service that its `messageSchema` rejected: answered with SY_ERR_INVALID_MESSAGE, not handled. */
  invalidSchema: number;
}

/** Where the host's messages go. */
export interface ServicePorts {
  toMaster(message: ServiceToMaster): void;
  /** Queues a message on a worker's link; false when there is no such link or its queue is full. */
  toWorker(worker: number, message: ServiceToWorker): boolean;
  /** Workers linked now. */
  workers(): Iterable<number>;
  /** Resolves once every link's queue has been written out (or its link closed). */
  drained(): Promise<void>;
  /** Resolves once every link has closed (the workers are gone). */
  linksClosed(): Promise<void>;
  /** Accepts no more links. */
  stopListening(): void;
  /** The other instances of the service, when it runs several (see peers.ts). */
  readonly peers?: PeerPort;
}

/** What the host needs of `Peers`. */
export interface PeerPort {
  peerUp(instance: number, endpoint: string, secret: string): void;
  send(to: number, payload: Payload): boolean;
  broadcast(payload: Payload): number;
  clusterCount(topic: string, own: number): Promise<number>;
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

/** A client as the service keeps it, for as long as it is connected: one shape, and no empty objects of its own. */
function clientOf(info: ClientInfo, resumed: boolean): Client {
  const client: Client = {
    id: info.id,
    service: info.service,
    path: info.path,
    query: sharedIfEmpty(info.query),
    headers: sharedIfEmpty(info.headers),
    remoteAddress: info.remoteAddress,
    resumed,
  };
  // Only authenticated clients carry the identity fields: without an authenticator the shape (and memory) is unchanged.
  if (info.user === undefined) return client;
  return info.claims === undefined ? { ...client, user: info.user } : { ...client, user: info.user, claims: info.claims };
}

export class ServiceHost {
  readonly stats: ServiceHostStats = { handlerErrors: 0, unknownClientEvents: 0, undeliverable: 0, backlogCloses: 0, lateSettlements: 0, invalidJson: 0, invalidSchema: 0 };
  private readonly internals: ServiceInternals;
  private readonly lanes: ClientLanes;
  private readonly envelopes: EnvelopeContext;
  private readonly interest = new WorkerInterest();
  private readonly backlog: BacklogCloser;
  /** Only for a typed service (`messageFormat` or `messageSchema`): how its messages are parsed and checked. */
  private readonly typed: TypedIntake | undefined;
  /** Acks waiting for the end of this event-loop turn, per worker. */
  private readonly acks = new Map<number, number[]>();
  private acksScheduled = false;
  /** HTTP requests being answered: a stop waits for them too. */
  private httpInFlight = 0;
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
  private readonly droppedWarning: ThrottledWarning;
  // A client can send hung requests in a loop: throttled too.
  private readonly expiredWarning: ThrottledWarning;
  private readonly lateWarning: ThrottledWarning;
  private readonly flushAcks = (): void => {
    this.acksScheduled = false;
    for (const [worker, seqs] of this.acks) this.ports.toWorker(worker, { type: 'ack', seqs });
    this.acks.clear();
  };

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
    // A worker that just went away is routine; a full queue means a worker that cannot keep up.
    this.droppedWarning = new ThrottledWarning(log, 'no link to that worker, or its queue is full; message dropped, the clients that missed it closed with 1013');
    this.expiredWarning = new ThrottledWarning(log, 'request handler still running past requestTimeout; no longer waited for');
    this.lateWarning = new ThrottledWarning(log, 'request handler settled after requestTimeout; its result is ignored');
    const lanes: ClientLanesHooks = {
      failed: (id, error) => this.handlerFailed(id, error),
      settled: (worker, seq) => this.ack(worker, seq),
      idle: () => this.notifyIfIdle(),
      // Only envelope requests run in a lane with a timeout.
      expired: (id) => this.requestExpired('websocket', id),
      late: (id, outcome, error) => this.requestLate('websocket', id, outcome, error),
    };
    this.lanes = new ClientLanes(lanes);
    this.envelopes = {
      service,
      requestTimeout: options.requestTimeout,
      maxReplyLength: maxReplyLength(options.linkMaxBytes ?? Number.POSITIVE_INFINITY),
      count: (outcome: EnvelopeOutcome) => this.options.metrics?.countRequest('websocket', outcome),
      failed: (client: Client, error: unknown) => this.handlerFailed(client.id, error),
    };
    this.internals = ServiceBase.attach(service, name, {
      send: (id: string, payload: Payload) => {
        const worker = workerOfClientId(id);
        if (worker === undefined || this.backlog.isClosing(id)) return false;
        if (this.toWorker(worker, { type: 'send', id, ...payload })) return true;
        this.backlog.refusedSend(worker, id);
        return false;
      },
      broadcast: (payload: Payload, except: readonly string[] | undefined) => {
        const message: ServiceToWorker = except === undefined || except.length === 0 ? { type: 'broadcast', ...payload } : { type: 'broadcast', except, ...payload };
        let missed = 0;
        for (const worker of this.ports.workers()) if (!this.toWorker(worker, message)) missed += this.backlog.refusedBroadcast(worker, except);
        return missed;
      },
      close: (id: string, code: number, reason: string) => this.toWorkerOf(id, { type: 'closeClient', id, code, reason }),
      subscribe: (id: string, topic: string) => {
        const worker = workerOfClientId(id);
        if (worker === undefined) return;
        this.interest.add(worker, topic);
        this.toWorker(worker, { type: 'subscribe', id, topic });
      },
      unsubscribe: (id: string, topic: string) => {
        const worker = workerOfClientId(id);
        if (worker === undefined) return;
        this.interest.remove(worker, topic);
        this.toWorker(worker, { type: 'unsubscribe', id, topic });
      },
      publish: (topic: string, payload: Payload, except: readonly string[] | undefined) => {
        const message: ServiceToWorker = except === undefined || except.length === 0 ? { type: 'publish', topic, ...payload } : { type: 'publish', topic, except, ...payload };
        let missed = 0;
        for (const worker of this.interest.workersFor(topic)) if (!this.toWorker(worker, message)) missed += this.backlog.refusedPublish(worker, topic, except);
        return missed;
      },
      subscribedElsewhere: (topic: string) => this.interest.reportedAnywhere(topic),
      peerSend: (instance: number, payload: Payload) => this.ports.peers?.send(instance, payload) ?? false,
      peerBroadcast: (payload: Payload) => this.ports.peers?.broadcast(payload) ?? 0,
      clusterSubscribers: (topic: string) => {
        const own = this.internals.topics.count(topic);
        return this.ports.peers === undefined ? Promise.resolve(own) : this.ports.peers.clusterCount(topic, own);
      },
      drained: () => this.ports.drained(),
    }, options.placement, log);
    // Its closes skip the queue bound (closeClient is must-keep), so they are never refused in turn.
    this.backlog = new BacklogCloser(this.internals, (worker, id, code, reason) => {
      this.stats.backlogCloses++;
      this.toWorker(worker, { type: 'closeClient', id, code, reason });
    });
    const decoder = MessageDecoder.for(service);
    this.typed = decoder === undefined ? undefined : {
      lanes: this.lanes,
      service,
      decoder,
      rejected: (client: Client, rejection: Rejection) => this.invalidMessage(client, rejection),
      ack: (worker: number, seq: number) => this.ack(worker, seq),
    };
  }

  /** Runs `onStart`; rejects with whatever it threw. */
  async start(): Promise<void> {
    await this.service.onStart();
  }

  /** Handles one message from a worker's link. */
  fromWorker(worker: number, message: WorkerToService): void {
    if (this.retiring) {
      // Nothing more is handled nor acknowledged: the workers give it all to the next instance. Requests are not kept: refused now.
      if (message.type === 'request' || message.type === 'publish') this.toWorker(worker, { type: 'response', rid: message.rid, ...unavailableAnswer(this.name) });
      return;
    }
    if (this.gate !== undefined) {
      const verdict = this.gate.admit(worker, message);
      if (verdict === 'held') return;
      if (verdict === 'refuse') {
        if (message.type === 'request' || message.type === 'publish') this.toWorker(worker, { type: 'response', rid: message.rid, ...unavailableAnswer(this.name) });
        return;
      }
    }
    switch (message.type) {
      case 'connect': {
        const { seq } = message;
        this.acksDue();
        const client = clientOf(message.client, message.resumed === true);
        if (workerOfClientId(client.id) !== worker) {
          if (seq !== undefined) this.ack(worker, seq);
          return this.foreignClient(worker, client.id, 'connect');
        }
        if (this.internals.clients.has(client.id)) {
          if (seq !== undefined) this.ack(worker, seq);
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
            this.ack(worker, seq);
            counted();
          };
        }
        this.lanes.run(client.id, () => this.service.onConnect(client), settled);
        return;
      }
      case 'message': {
        const { seq } = message;
        this.acksDue();
        const client = this.internals.clients.get(message.id);
        if (client !== undefined && workerOfClientId(message.id) !== worker) {
          this.ack(worker, seq);
          return this.foreignClient(worker, message.id, 'message');
        }
        if (client === undefined) {
          // Nothing will handle it (the client left while it was redelivered): done with it.
          this.ack(worker, seq);
          return this.unknownClient(message.id, 'message');
        }
        if (message.ts !== undefined) this.options.metrics?.observeDelivery(message.ts);
        const data = decodePayload(message);
        if (typeof data === 'string' && looksLikeRequest(data)) {
          // At the timeout the client has its SY_ERR_REQUEST_TIMEOUT and its order moves on: the event is acknowledged, the next ones run.
          this.lanes.run(client.id, () => answerEnvelope(this.envelopes, client, data), () => this.ack(worker, seq), this.options.requestTimeout);
          return;
        }
        const info: MessageInfo = { seq, redelivered: message.redelivered === true };
        if (this.typed !== undefined) return deliverTyped(this.typed, client, data, info, worker, seq);
        this.lanes.call(client.id, this.service, this.service.onMessage, client, data, info, worker, seq);
        return;
      }
      case 'closed': {
        const { seq } = message;
        this.acksDue();
        if (workerOfClientId(message.id) !== worker) {
          this.ack(worker, seq);
          return this.foreignClient(worker, message.id, 'closed');
        }
        this.clientClosed(message.id, message.code, message.reason, () => this.ack(worker, seq));
        return;
      }
      case 'request':
        this.answerHttpRequest(worker, message);
        return;
      case 'publish':
        this.toWorker(worker, { type: 'response', rid: message.rid, ...publishAnswer(this.service, message.topic, decodePayload(message)) });
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
    this.backlog.forget(id);
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

  private answerHttpRequest(worker: number, message: HttpRequestFields & Payload): void {
    const answered = answerHttp(this.service, message, (error) => this.handlerFailed(undefined, error));
    // A handler that returned a value: answered now, no deadline to keep (the stop's wait sees nothing in flight).
    if (!(answered instanceof Promise)) return this.sendAnswer(worker, message.rid, answered);
    void this.awaitHttpAnswer(worker, message.rid, answered);
  }

  /** A handler that returned a promise: its answer is waited for at most `requestTimeout`, and a stop waits for it meanwhile. */
  private async awaitHttpAnswer(worker: number, rid: string, answered: Promise<HttpAnswer>): Promise<void> {
    this.httpInFlight++;
    try {
      const response = await settleWithin(answered, this.options.requestTimeout, {
        expired: () => this.requestExpired('http', undefined),
        late: (outcome, error) => this.requestLate('http', undefined, outcome, error),
      });
      // The worker started its clock first, so it has answered 504 already: nothing to send, and a stop no longer waits.
      if (response === EXPIRED) return;
      this.sendAnswer(worker, rid, response);
    } finally {
      this.httpInFlight--;
      this.notifyIfIdle();
    }
  }

  private sendAnswer(worker: number, rid: string, answer: HttpAnswer): void {
    this.options.metrics?.countRequest('http', answer.status < 500 ? 'ok' : 'error');
    this.toWorker(worker, { type: 'response', rid, ...answer });
  }

  /** Acknowledges a handled message; acks leave in one message per worker and event-loop turn. */
  private ack(worker: number, seq: number): void {
    this.acksDue();
    const seqs = this.acks.get(worker);
    if (seqs === undefined) this.acks.set(worker, [seq]);
    else seqs.push(seq);
  }

  /**
   * Schedules the flush of this turn's acks. Called when a client event
   * arrives, before its handler runs, so that the flush comes ahead of the
   * link write its replies schedule (immediates run in order): the acks of
   * handlers that settle in this turn join their replies' write, after them,
   * instead of a second write (and a second wakeup of the worker) a turn
   * later. A flush with nothing to acknowledge sends nothing.
   */
  private acksDue(): void {
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(this.flushAcks);
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
    const pending = this.acks.get(worker);
    if (pending !== undefined) {
      this.acks.delete(worker);
      this.ports.toWorker(worker, { type: 'ack', seqs: pending });
    }
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
      this.flushAcks();
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
    return this.httpInFlight === 0 && this.lanes.idle;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Sends to the worker holding client `id`. */
  private toWorkerOf(id: string, message: ServiceToWorker): void {
    const worker = workerOfClientId(id);
    if (worker !== undefined) this.toWorker(worker, message);
  }

  /** Queues `message` on `worker`'s link; false, counted and logged (throttled), when the link is gone or its queue full. */
  private toWorker(worker: number, message: ServiceToWorker): boolean {
    if (this.ports.toWorker(worker, message)) return true;
    this.stats.undeliverable++;
    this.droppedWarning.warn({ worker, type: message.type, dropped: this.stats.undeliverable });
    return false;
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

  /** A request's handler outlived `requestTimeout`: it is no longer waited for (the envelope counted its own timeout reply). */
  private requestExpired(transport: 'http' | 'websocket', id: string | undefined): void {
    if (transport === 'http') this.options.metrics?.countRequest('http', 'timeout');
    this.expiredWarning.warn({ service: this.name, transport, client: id, timeoutMs: this.options.requestTimeout });
  }

  /** A request's handler settled after it was no longer waited for: counted and logged, its outcome dropped. */
  private requestLate(transport: 'http' | 'websocket', id: string | undefined, outcome: LateOutcome, error: unknown): void {
    this.stats.lateSettlements++;
    this.options.metrics?.countRequest(transport, 'late');
    this.lateWarning.warn({ service: this.name, transport, client: id, outcome, err: error, late: this.stats.lateSettlements });
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

  /** A typed service's message that is not JSON or fails its schema: the error reply instead of `onMessage`, counted. */
  private invalidMessage(client: Client, rejection: Rejection): void {
    if (rejection.reason === 'json') this.stats.invalidJson++;
    else this.stats.invalidSchema++;
    this.service.send(client.id, rejection.reply);
  }
}
