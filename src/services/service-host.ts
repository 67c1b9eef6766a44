/**
 * Runs one service instance: turns protocol messages from the master into
 * handler calls and the service's actions into protocol messages.
 *
 * Per-client order: the events of one client run one after another, each
 * waiting until the previous handler (sync or async) has settled; different
 * clients run concurrently. A handler that throws or rejects is logged and
 * counted; the service keeps running. HTTP requests run concurrently, outside
 * any client's order.
 */
import type { HttpRequestFields, MasterToService, Payload, ServiceToMaster } from '../protocol';
import { decodePayload } from '../protocol';
import type { Client, MessageInfo, Service, ServiceInternals } from './service';
import { Service as ServiceBase } from './service';
import type { Logger } from '../logger';
import { ServiceMetrics } from './service-metrics';
import { formatError, formatResult, looksLikeRequest, parseRequest, type RequestId } from './request-envelope';
import { answerHttp, errorReply } from './request-answer';
import { isReply, type ServiceRequest } from './request';

type Task = () => unknown;

interface Lane {
  busy: boolean;
  readonly backlog: Task[];
}

export interface ServiceHostStats {
  handlerErrors: number;
  unknownClientEvents: number;
}

export interface ServiceHostOptions {
  /** How long a WebSocket request may take before it is answered with SY_ERR_REQUEST_TIMEOUT. */
  readonly requestTimeout: number;
  readonly metrics?: ServiceMetrics;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class ServiceHost {
  readonly stats: ServiceHostStats = { handlerErrors: 0, unknownClientEvents: 0 };
  private readonly internals: ServiceInternals;
  private readonly lanes = new Map<string, Lane>();
  private idleWaiters: Array<() => void> = [];
  private stopping = false;
  /** HTTP requests being answered: a stop waits for them too. */
  private httpInFlight = 0;
  private acks: number[] = [];
  private readonly flushAcks = (): void => {
    const seqs = this.acks;
    this.acks = [];
    this.emit({ type: 'ack', seqs });
  };

  constructor(
    private readonly service: Service,
    private readonly name: string,
    private readonly emit: (message: ServiceToMaster) => void,
    private readonly log: Logger,
    private readonly options: ServiceHostOptions = { requestTimeout: 10_000 },
  ) {
    this.internals = ServiceBase.attach(service, name, {
      send: (id: string, payload: Payload) => this.emit({ type: 'send', id, ...payload }),
      broadcast: (payload: Payload, except: readonly string[] | undefined) =>
        this.emit(except === undefined || except.length === 0 ? { type: 'broadcast', ...payload } : { type: 'broadcast', except, ...payload }),
      close: (id: string, code: number, reason: string) => this.emit({ type: 'close', id, code, reason }),
      subscribe: (id: string, topic: string) => this.emit({ type: 'subscribe', id, topic }),
      unsubscribe: (id: string, topic: string) => this.emit({ type: 'unsubscribe', id, topic }),
      publish: (topic: string, payload: Payload, except: readonly string[] | undefined) =>
        this.emit(except === undefined || except.length === 0 ? { type: 'publish', topic, ...payload } : { type: 'publish', topic, except, ...payload }),
    });
  }

  /** Runs `onStart`; rejects with whatever it threw. */
  async start(): Promise<void> {
    await this.service.onStart();
  }

  handle(message: MasterToService): void {
    switch (message.type) {
      case 'connect': {
        const client: Client = { ...message.client, resumed: message.resumed === true };
        if (this.internals.clients.has(client.id)) {
          this.stats.unknownClientEvents++;
          this.log.warn({ client: client.id }, 'duplicate connect ignored');
          return;
        }
        this.internals.clients.set(client.id, client);
        this.lanes.set(client.id, { busy: false, backlog: [] });
        this.run(client.id, () => this.service.onConnect(client));
        return;
      }
      case 'message': {
        const { seq } = message;
        const client = this.internals.clients.get(message.id);
        if (client === undefined) {
          // Nothing will handle it (the client left while it was redelivered): done with it.
          this.ack(seq);
          return this.unknownClient(message.id, 'message');
        }
        if (message.ts !== undefined) this.options.metrics?.observeDelivery(message.ts);
        const data = decodePayload(message);
        if (typeof data === 'string' && looksLikeRequest(data)) {
          this.run(client.id, () => this.answerEnvelope(client, data), () => this.ack(seq));
          return;
        }
        const info: MessageInfo = { seq, redelivered: message.redelivered === true };
        const lane = this.lanes.get(client.id);
        if (lane !== undefined && !lane.busy) {
          // Fast path, no closures: the lane is free, so the handler runs now.
          let result: unknown;
          try {
            result = this.service.onMessage(client, data, info);
          } catch (error) {
            this.handlerFailed(client.id, error);
          }
          if (!isThenable(result)) return this.ack(seq);
          lane.busy = true;
          result.then(
            () => {
              this.ack(seq);
              this.resume(client.id, lane);
            },
            (error: unknown) => {
              this.handlerFailed(client.id, error);
              this.ack(seq);
              this.resume(client.id, lane);
            },
          );
          return;
        }
        this.run(client.id, () => this.service.onMessage(client, data, info), () => this.ack(seq));
        return;
      }
      case 'close': {
        const client = this.internals.clients.get(message.id);
        if (client === undefined) return this.unknownClient(message.id, 'close');
        // Gone from `clients` and from its topics at once, so nothing is sent to it from here on.
        this.internals.clients.delete(client.id);
        this.internals.topics.removeClient(client.id);
        const { code, reason } = message;
        this.run(client.id, () => this.service.onClose(client, code, reason), () => this.lanes.delete(client.id));
        return;
      }
      case 'request':
        void this.answerHttpRequest(message);
        return;
      case 'metricsRequest': {
        const metrics = this.options.metrics;
        if (metrics === undefined) return this.emit({ type: 'metrics', qid: message.qid, metrics: [] });
        metrics.setHandlerErrors(this.stats.handlerErrors);
        void metrics.snapshot().then((snapshot) => this.emit({ type: 'metrics', qid: message.qid, metrics: snapshot }));
        return;
      }
      case 'stop':
        void this.stop();
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Waits for running handlers, runs `onStop`, then reports `stopped`. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.whenIdle();
    try {
      await this.service.onStop();
    } catch (error) {
      this.stats.handlerErrors++;
      this.log.error({ err: error, handler: 'onStop' }, 'service handler failed');
    }
    this.emit({ type: 'stopped' });
  }

  /** Resolves once no handler is running or waiting. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    if (this.httpInFlight > 0) return false;
    for (const lane of this.lanes.values()) if (lane.busy) return false;
    return true;
  }

  /** Acknowledges a handled message; acks leave in one message per event-loop turn. */
  private ack(seq: number): void {
    if (this.acks.length === 0) setImmediate(this.flushAcks);
    this.acks.push(seq);
  }

  private unknownClient(id: string, event: string): void {
    this.stats.unknownClientEvents++;
    this.log.warn({ client: id, event }, 'event for an unknown client ignored');
  }

  /**
   * Answers one envelope request exactly once: with the handler's result, its
   * error, or SY_ERR_REQUEST_TIMEOUT — whichever comes first. The client's next
   * events still wait for the handler to settle, to keep their order.
   */
  private answerEnvelope(client: Client, text: string): Promise<void> | void {
    const envelope = parseRequest(text);
    if (!envelope.ok) {
      this.options.metrics?.countRequest('websocket', 'bad_request');
      this.service.send(client.id, formatError(envelope.id, 'SY_ERR_BAD_REQUEST', envelope.message));
      return;
    }
    const request: ServiceRequest = {
      transport: 'websocket',
      client,
      method: 'MESSAGE',
      path: client.path,
      query: client.query,
      headers: client.headers,
      body: envelope.data,
    };
    let answered = false;
    const answer = (text: string, outcome: string): void => {
      if (answered) return;
      answered = true;
      this.options.metrics?.countRequest('websocket', outcome);
      this.service.send(client.id, text);
    };
    const timer = setTimeout(
      () => answer(formatError(envelope.id, 'SY_ERR_REQUEST_TIMEOUT', `no reply within ${this.options.requestTimeout} ms`), 'timeout'),
      this.options.requestTimeout,
    );
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      const { code, message, status } = errorReply(error);
      if (status >= 500 && code !== 'SY_ERR_NOT_IMPLEMENTED') this.handlerFailed(client.id, error);
      answer(formatError(envelope.id as RequestId, code, message), 'error');
    };
    const succeed = (value: unknown): void => {
      let text: string;
      try {
        // A result JSON cannot hold (circular, BigInt, too deep) is the handler's failure, not silence.
        text = formatResult(envelope.id, isReply(value) ? value.body : value);
      } catch (error) {
        return fail(error);
      }
      clearTimeout(timer);
      answer(text, 'ok');
    };
    let result: unknown;
    try {
      result = this.service.onRequest(request);
    } catch (error) {
      fail(error);
      return;
    }
    if (!isThenable(result)) return succeed(result);
    return Promise.resolve(result).then(succeed, fail);
  }

  private async answerHttpRequest(message: HttpRequestFields & Payload): Promise<void> {
    this.httpInFlight++;
    try {
      const response = await answerHttp(this.service, message, (error) => this.handlerFailed(undefined, error));
      this.options.metrics?.countRequest('http', response.status < 500 ? 'ok' : 'error');
      this.emit({ type: 'response', rid: message.rid, ...response });
    } finally {
      this.httpInFlight--;
      this.notifyIfIdle();
    }
  }

  private run(id: string, task: Task, after?: () => void): void {
    const lane = this.lanes.get(id);
    if (lane === undefined) return;
    const wrapped: Task = after === undefined ? task : () => {
      try {
        const result = task();
        return isThenable(result) ? Promise.resolve(result).finally(after) : (after(), result);
      } catch (error) {
        after();
        throw error;
      }
    };
    if (lane.busy) {
      lane.backlog.push(wrapped);
      return;
    }
    this.drain(id, lane, wrapped);
  }

  /** Runs `task` and then the lane's backlog, pausing at each pending promise. */
  private drain(id: string, lane: Lane, first: Task): void {
    let task: Task | undefined = first;
    while (task !== undefined) {
      let result: unknown;
      try {
        result = task();
      } catch (error) {
        this.handlerFailed(id, error);
      }
      if (isThenable(result)) {
        lane.busy = true;
        result.then(
          () => this.resume(id, lane),
          (error: unknown) => {
            this.handlerFailed(id, error);
            this.resume(id, lane);
          },
        );
        return;
      }
      task = lane.backlog.shift();
    }
    this.notifyIfIdle();
  }

  private resume(id: string, lane: Lane): void {
    lane.busy = false;
    const next = lane.backlog.shift();
    if (next !== undefined) this.drain(id, lane, next);
    else this.notifyIfIdle();
  }

  private handlerFailed(id: string | undefined, error: unknown): void {
    this.stats.handlerErrors++;
    this.log.error({ err: error, service: this.name, client: id }, 'service handler failed');
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
