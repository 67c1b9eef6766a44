/**
 * `testService`: a service class run in this process, without a cluster, for
 * unit tests (as Fastify's `inject`). It drives the real `ServiceHost` — the
 * same per-client lanes, typed-message decoding and validation, request
 * envelopes, acks, and the same `Client` objects — through a fake worker
 * link: the harness plays worker 1, turning what the test does into link
 * messages and keeping what the service sends back. So what passes here
 * passes the same code a cluster runs, one link hop short.
 */
import pino from 'pino';
import { formatClientId } from '../client-id';
import { SwitchyardError } from '../errors';
import type { ServiceAnswer, ServiceCall } from '../worker-api';
import type { Logger } from '../logger';
import { decodePayload, encodePayload, type Payload, type ServiceToMaster, type ServiceToWorker, type WorkerToService } from '../protocol';
import type { Client } from '../services/client';
import { isServiceClass, type OutgoingData, type Service } from '../services/service';
import { ServiceHost } from '../services/service-host';
import { FakeClient, type ClientEvent, type ClientLink } from './fake-client';

/** The worker the harness plays: client ids are `1.<n>`, as on a cluster's first worker. */
const WORKER = 1;

export interface TestServiceOptions {
  /** The name the service runs under (`this.name`, `client.service`, its path `/<name>`). Default `'test'`. */
  readonly name?: string;
  /** `requestTimeout` for `onRequest` (ms). Default `10000`, the server's default. */
  readonly requestTimeout?: number;
  /** Where the service host logs (a pino logger). Default: nothing is logged (handler errors reach the test through the promises). */
  readonly log?: Logger;
}

/** What a fake client connects with; every field is optional. */
export interface TestClientInit {
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly remoteAddress?: string;
  /** The authenticated user (as an `authenticate` or `jwt` option would give). */
  readonly user?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Path of the upgrade. Default `/<name>`. */
  readonly path?: string;
}

/**
 * An HTTP request for `onRequest`, as `/services/<name><path>` would give it:
 * the same shape as an HTTP app's `services.request()` call (`path` below
 * the service, default `/`).
 */
export type TestHttpRequest = ServiceCall;

/** What `onRequest` answered, as the HTTP response the worker would send. */
export type TestHttpResponse = ServiceAnswer;

/** What `onMessage` of service `S` receives. */
export type MessageIn<S> = S extends Service<infer In, infer _Out> ? In : never;
/** What service `S` sends, as its clients receive it: the server type of a typed service, else a string or a Buffer. */
export type MessageOut<S> = S extends Service<infer _In, infer Out> ? (OutgoingData extends Out ? string | Buffer : Out) : never;

/** Counters of the run, as the service process reports them in its metrics. */
export interface TestServiceStats {
  readonly handlerErrors: number;
  /** Refused by a typed service: not JSON text, and rejected by its schema. */
  readonly invalidJson: number;
  readonly invalidSchema: number;
}

interface PendingEvent {
  readonly client: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** A running service under test: see `testService`. */
export class ServiceHarness<S extends Service<unknown, unknown>> {
  /** Every `broadcast` and `publish`, in order (each also lands in the `received` of the clients it reaches). */
  readonly broadcasts: Array<MessageOut<S>> = [];
  readonly published: Array<{ readonly topic: string; readonly data: MessageOut<S> }> = [];
  /** Every handler failure, in order (each also rejects the promise of the event that caused it). */
  readonly errors: unknown[] = [];
  readonly #host: ServiceHost;
  readonly #clients = new Map<string, FakeClient<MessageIn<S>, MessageOut<S>>>();
  readonly #pending = new Map<number, PendingEvent>();
  /** Events not settled yet, and closes the service asked for not yet reported: what `settled()` waits for. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Handler errors per client, not yet claimed by the client's earliest pending event. */
  readonly #failures = new Map<string, unknown[]>();
  readonly #link: ClientLink;
  readonly #json: boolean;
  #seq = 0;
  #clientSeq = 0;
  #rid = 0;
  readonly #responses = new Map<string, (response: TestHttpResponse) => void>();
  #stopped: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  /** @internal Use `testService`. */
  constructor(
    /** The service instance under test: its own state can be read directly. */
    readonly service: S,
    readonly name: string,
    options: TestServiceOptions,
  ) {
    this.#json = service.messageFormat === 'json' || service.messageSchema !== undefined;
    this.#link = { json: this.#json, event: (client, event) => this.#event(client.id, event) };
    this.#host = new ServiceHost(
      service,
      name,
      {
        toMaster: (message) => this.#fromHostToMaster(message),
        toWorker: (_worker, message) => {
          this.#fromHost(message);
          return true;
        },
        workers: () => [WORKER],
        drained: () => Promise.resolve(),
        linksClosed: () => Promise.resolve(),
        stopListening: () => undefined,
      },
      options.log ?? pino({ level: 'silent' }),
      { requestTimeout: options.requestTimeout ?? 10_000, onHandlerError: (error, id) => this.#failed(error, id) },
    );
  }

  /** @internal */
  start(): Promise<void> {
    return this.#host.start();
  }

  /** Counters of this run. */
  get stats(): TestServiceStats {
    const { handlerErrors, invalidJson, invalidSchema } = this.#host.stats;
    return { handlerErrors, invalidJson, invalidSchema };
  }

  /** Clients connected now, by id. */
  get clients(): ReadonlyMap<string, FakeClient<MessageIn<S>, MessageOut<S>>> {
    return this.#clients;
  }

  /** Connects a fake client: resolves once `onConnect` settled (rejects with what it threw; the client is connected all the same, as in a cluster). */
  async connect(init: TestClientInit = {}): Promise<FakeClient<MessageIn<S>, MessageOut<S>>> {
    const id = formatClientId(WORKER, ++this.#clientSeq);
    const info: Client = {
      id,
      service: this.name,
      path: init.path ?? `/${this.name}`,
      query: init.query ?? {},
      headers: init.headers ?? {},
      remoteAddress: init.remoteAddress ?? '127.0.0.1',
      resumed: false,
      ...(init.user === undefined ? {} : { user: init.user }),
      ...(init.claims === undefined ? {} : { claims: init.claims }),
    };
    const { resumed: _resumed, ...clientInfo } = info;
    // Registered first: a sync onConnect sends and subscribes while the connect is being handed over.
    const client = new FakeClient<MessageIn<S>, MessageOut<S>>(info, this.#link);
    this.#clients.set(id, client);
    const seq = ++this.#seq;
    const settled = this.#await(seq, id);
    this.#host.fromWorker(WORKER, { type: 'connect', client: clientInfo, seq });
    // The host makes its own Client from the link's ClientInfo, as in a cluster: the fake keeps that very object.
    client.info = this.service.clients.get(id) ?? info;
    await settled;
    return client;
  }

  /** An HTTP request to `onRequest`: resolves with the answer the worker would send (status, headers, body). */
  request(request: TestHttpRequest = {}): Promise<TestHttpResponse> {
    const rid = `${WORKER}.${(++this.#rid).toString(36)}`;
    const answered = new Promise<TestHttpResponse>((resolve) => this.#responses.set(rid, resolve));
    const message: WorkerToService = {
      type: 'request',
      rid,
      method: request.method ?? 'GET',
      // What a worker passes for /services/<name><path>: the path below the service.
      path: request.path ?? '/',
      query: request.query ?? {},
      headers: request.headers ?? {},
      ...(request.user === undefined ? {} : { user: request.user }),
      ...(request.claims === undefined ? {} : { claims: request.claims }),
      ...encodePayload(request.body ?? ''),
    };
    this.#host.fromWorker(WORKER, message);
    return answered;
  }

  /** Stops as a cluster does: every connected client closes (1001), then `onStop`. Resolves once the host reported it stopped. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.allSettled([...this.#clients.values()].map((client) => client.close(1001, 'server stopping')));
      const stopped = new Promise<void>((resolve) => (this.#stopped = resolve));
      await this.#host.stop('shutdown');
      await stopped;
    })();
    return this.#stopping;
  }

  #event(id: string, event: ClientEvent): Promise<void> {
    if (!this.#clients.has(id)) return Promise.reject(new Error(`client ${id} is not connected`));
    const seq = ++this.#seq;
    const settled = this.#await(seq, id);
    if (event.type === 'message') this.#host.fromWorker(WORKER, { type: 'message', id, seq, ...event.payload });
    else {
      this.#clients.delete(id);
      this.#host.fromWorker(WORKER, { type: 'closed', id, seq, code: event.code, reason: event.reason });
    }
    return settled;
  }

  #await(seq: number, client: string): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => this.#pending.set(seq, { client, resolve, reject }));
    this.#track(settled);
    return settled;
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    const done = (): void => void this.#inFlight.delete(work);
    work.then(done, done);
  }

  /**
   * Resolves once every event handed to the service has settled, those it
   * caused included (a close the service asked for runs `onClose` on the next
   * turn, as a worker's report would). Never rejects: each event's own
   * promise carries its handler's error.
   */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #failed(error: unknown, id: string | undefined): void {
    this.errors.push(error);
    if (id === undefined) return;
    const list = this.#failures.get(id);
    if (list === undefined) this.#failures.set(id, [error]);
    else list.push(error);
  }

  /** What the host sent on the link, handled as a worker would. */
  #fromHost(message: ServiceToWorker): void {
    switch (message.type) {
      case 'send':
        this.#clients.get(message.id)?.deliver(message);
        return;
      case 'broadcast': {
        this.broadcasts.push(this.#decode(message));
        for (const client of this.#clients.values()) if (message.except?.includes(client.id) !== true) client.deliver(message);
        return;
      }
      case 'publish': {
        this.published.push({ topic: message.topic, data: this.#decode(message) });
        for (const client of this.#clients.values()) if (client.topics.has(message.topic) && message.except?.includes(client.id) !== true) client.deliver(message);
        return;
      }
      case 'subscribe':
        this.#clients.get(message.id)?.topics.add(message.topic);
        return;
      case 'unsubscribe':
        this.#clients.get(message.id)?.topics.delete(message.topic);
        return;
      case 'closeClient': {
        const client = this.#clients.get(message.id);
        if (client === undefined) return;
        // As a worker: the socket closes with the service's code, and the service hears of it (onClose) in the client's order.
        client.closed = { code: message.code, reason: message.reason };
        // On the next turn, as the worker's report would arrive: never inside the handler that called close().
        this.#track(new Promise<void>((resolve) => setImmediate(() => resolve(client.close(message.code, message.reason).catch(ignore)))));
        return;
      }
      case 'response': {
        const resolve = this.#responses.get(message.rid);
        this.#responses.delete(message.rid);
        resolve?.({ status: message.status, headers: message.headers, body: decodePayload(message) });
        return;
      }
      case 'ack':
        for (const seq of message.seqs) this.#settled(seq);
        return;
      case 'retired':
      case 'sessionLost':
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  #settled(seq: number): void {
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    this.#pending.delete(seq);
    const failures = this.#failures.get(pending.client);
    if (failures === undefined || failures.length === 0) return pending.resolve();
    this.#failures.delete(pending.client);
    pending.reject(failures[0]);
  }

  #fromHostToMaster(message: ServiceToMaster): void {
    if (message.type === 'stopped') this.#stopped?.();
  }

  #decode(message: Payload): MessageOut<S> {
    const data = decodePayload(message);
    return (this.#json && typeof data === 'string' ? JSON.parse(data) : data) as MessageOut<S>;
  }
}

function ignore(): void {}

/**
 * Runs `ServiceClass` for a test: constructs it, runs `onStart`, and returns
 * the harness (`connect`, `request`, `stop`, what it broadcast and
 * published). Rejects as a cluster's start would: a class that does not
 * extend `Service` (`SY_ERR_INVALID_ARGUMENT`), a bad `messageFormat` or
 * `messageSchema`, or `onStart` throwing. Call `stop()` at the end of each
 * test (it runs `onStop`).
 */
export async function testService<S extends Service<unknown, unknown>>(ServiceClass: new () => S, options: TestServiceOptions = {}): Promise<ServiceHarness<S>> {
  if (!isServiceClass(ServiceClass)) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'testService() takes a class that extends Service');
  const harness = new ServiceHarness(new ServiceClass(), options.name ?? 'test', options);
  await harness.start();
  return harness;
}
