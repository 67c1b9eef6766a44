/**
 * One client connection that comes back by itself: connect, read the close
 * code, wait as the policy says (policy.ts), reconnect, run the resume hook,
 * flush what was queued meanwhile (send-queue.ts), and pair requests with
 * their answers (requests.ts). Reads top-down in the order of a connection's
 * life: open → message → close → reconnect. Its events' types are
 * client-events.ts; the frames it writes and the refusals it recognises,
 * client-messages.ts.
 */
import type { ClientEvents, ClientState, IncomingData, RequestOptions } from './client-events';
import { REJECTION_PREFIX, isBinary, outgoing, rejectedInfo } from './client-messages';
import { DisconnectedError, GaveUpError, QueueFullError, SwitchyardClientError } from './errors';
import { TypedEmitter } from './events';
import { checkMs, invalid, resolveClientOptions, type ClientOptions, type JsonClientOptions, type ResolvedClientOptions } from './options';
import { closeAction, parseRetryAfter, reconnectDelay, statusAction, type ReconnectAction } from './policy';
import { PendingRequests } from './requests';
import { SendQueue, type OutgoingData, type QueuedEntry } from './send-queue';
import { OPEN, socketUrl, watchRefusal, webSocketConstructor, type Refusal, type SocketEvent, type WebSocketConstructor, type WebSocketLike } from './socket';

// The events' types are in client-events.ts, re-exported so the import path stays one.
export type {
  ClientEvents,
  ClientState,
  CloseInfo,
  IncomingData,
  OpenInfo,
  ReconnectedInfo,
  ReconnectingInfo,
  RejectedInfo,
  RequestOptions,
  UndeliveredInfo,
} from './client-events';

/** What a browser offers to watch the network; absent in Node. */
interface BrowserGlobals {
  readonly navigator?: { readonly onLine?: boolean };
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

const browser = globalThis as BrowserGlobals;

function online(): boolean {
  return browser.navigator?.onLine !== false;
}

/**
 * `Incoming` is what `message` events carry, `Outgoing` what `send` takes:
 * untyped by default; `connect<ServerMessage, ClientMessage>(url, {
 * messageFormat: 'json' })` types both and parses what arrives.
 */
export class SwitchyardClient<Incoming = IncomingData, Outgoing = OutgoingData> extends TypedEmitter<ClientEvents<Incoming>> {
  /** The ws:/wss: URL connected to. */
  readonly url: string;
  readonly #options: ResolvedClientOptions;
  readonly #queue: SendQueue;
  readonly #requests: PendingRequests;
  #state: ClientState = 'connecting';
  #socket: WebSocketLike | undefined;
  #WebSocket: WebSocketConstructor | undefined;
  /** Failed attempts in a row. */
  #attempts = 0;
  #reconnects = 0;
  #everOpened = false;
  #openedAt = 0;
  #refusal: Refusal | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The browser has a network again: whatever attempt was waiting (or skipped while offline) goes now. */
  readonly #onOnline = (): void => {
    if (this.#state === 'open' || this.#state === 'closed' || this.#socket !== undefined) return;
    clearTimeout(this.#retryTimer);
    this.#open();
  };

  constructor(url: string, options?: ClientOptions) {
    super();
    try {
      this.url = socketUrl(url);
    } catch (error) {
      throw new SwitchyardClientError('SY_CLIENT_INVALID_ARGUMENT', `url must be a ws:, wss:, http: or https: URL, got ${String(url)}`, { cause: error });
    }
    this.#options = resolveClientOptions(options);
    this.#queue = new SendQueue(this.#options.maxQueuedMessages, this.#options.maxQueuedBytes);
    this.#requests = new PendingRequests(this.#queue);
    browser.addEventListener?.('online', this.#onOnline);
    void this.#start();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Successful reconnects so far. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Messages and requests waiting in the offline queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends `data` (a string as text, binary as binary, any other value as JSON
   * text) now if connected, else queues it for the next connection. Returns
   * false when it is not accepted — the queue is full or the client closed —
   * and then reports it in one `undelivered` event.
   */
  send(data: Outgoing): boolean {
    if (this.#options.json && isBinary(data)) throw invalid('send() data', 'a JSON value (the client has messageFormat: json)', 'binary data');
    const entry = outgoing(data);
    if (this.#write(entry)) return true;
    if (this.#state !== 'closed' && this.#queue.push(entry)) return true;
    this.emit('undelivered', { reason: this.#state === 'closed' ? 'closed' : 'overflow', messages: [data] });
    return false;
  }

  /**
   * Sends `data` in the request envelope and resolves with the service's
   * answer. Rejects with `RequestError` (the server's code), `TimeoutError`,
   * `DisconnectedError` (the connection ended before the answer; never
   * resent) or `QueueFullError`.
   */
  request<T = unknown>(data: unknown, options?: RequestOptions): Promise<T> {
    const timeout = checkMs('options.timeout', options?.timeout, this.#options.requestTimeout, 1);
    const { entry, promise } = this.#requests.create(data, timeout);
    const id = entry.id as number;
    if (this.#write(entry)) this.#requests.sent(id);
    else if (this.#state === 'closed') this.#requests.fail(id, new DisconnectedError(false, 1000, 'client closed'));
    else if (!this.#queue.push(entry)) this.#requests.fail(id, new QueueFullError());
    return promise as Promise<T>;
  }

  /**
   * Closes for good: no more reconnects; queued messages are reported
   * (`undelivered`), pending requests rejected. `code` is 1000 or 3000–4999.
   */
  close(code = 1000, reason = ''): void {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) throw invalid('close code', '1000 or 3000–4999', code);
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    this.#stop(code, reason);
    if (socket !== undefined) {
      socket.close(code, reason);
      this.#detach(socket);
    }
    this.emit('close', { code, reason, reconnect: false });
  }

  /** While waiting to reconnect, tries at once (a "retry now" button); false in any other state. */
  reconnectNow(): boolean {
    if (this.#state !== 'reconnecting' || this.#socket !== undefined) return false;
    this.#onOnline();
    return true;
  }

  async #start(): Promise<void> {
    try {
      this.#WebSocket = await webSocketConstructor(this.#options.WebSocket);
    } catch (error) {
      if (this.#state === 'closed') return;
      this.#stop(1006, 'no WebSocket implementation');
      this.emit('close', { code: 1006, reason: 'no WebSocket implementation', reconnect: false });
      this.emit('error', new SwitchyardClientError('SY_CLIENT_GAVE_UP', 'no WebSocket implementation: pass options.WebSocket or install the ws package', { cause: error }));
      return;
    }
    this.#open();
  }

  #open(): void {
    if (this.#state === 'closed' || this.#WebSocket === undefined) return;
    if (!online()) return; // the browser's 'online' event comes back here
    this.#refusal = undefined;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url, this.#options.protocols);
    } catch {
      // An implementation that throws for this URL: a failed attempt like any other.
      this.#closed({ code: 1006, reason: 'cannot open a WebSocket' });
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = this.#onOpen;
    socket.onmessage = this.#onMessage;
    socket.onclose = this.#onClose;
    // 'error' is always followed by 'close', which does the work; ws throws on an 'error' nobody listens to.
    socket.onerror = ignore;
    watchRefusal(socket, this.#onRefusal);
    this.#connectTimer = setTimeout(this.#onConnectTimeout, this.#options.connectTimeout);
  }

  readonly #onRefusal = (refusal: Refusal): void => {
    this.#refusal = refusal;
  };

  readonly #onConnectTimeout = (): void => {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#detach(socket);
    socket.close();
    this.#closed({ code: 1006, reason: 'connect timeout' });
  };

  readonly #onOpen = (): void => {
    clearTimeout(this.#connectTimer);
    this.#state = 'open';
    this.#openedAt = Date.now();
    const reconnect = this.#everOpened;
    this.#everOpened = true;
    if (reconnect) {
      this.#reconnects++;
      try {
        // The option is declared on the untyped client (options know no type parameters): the same object.
        this.#options.onReconnect?.(this as unknown as SwitchyardClient);
      } catch (error) {
        setTimeout(rethrow, 0, error);
      }
    }
    // Flush in order; stop if a send closed the socket meanwhile (the rest waits for the next connection).
    while (this.#queue.length > 0 && this.#socket?.readyState === OPEN) {
      const entry = this.#queue.shift() as QueuedEntry;
      this.#socket.send(entry.frame as never);
      if (entry.id !== undefined) this.#requests.sent(entry.id);
    }
    // The hook or a flushed send may have ended it all (close() in a listener): then no open to report.
    if (this.#state !== 'open') return;
    this.emit('open', { reconnect });
    if (reconnect && this.#state === 'open') this.emit('reconnected', { reconnects: this.#reconnects });
  };

  readonly #onMessage = (event: SocketEvent): void => {
    const { data } = event;
    if (typeof data === 'string' && this.#requests.settle(data)) return;
    if (this.#options.json) return this.#jsonMessage(data);
    this.emit('message', data as Incoming);
  };

  /** `messageFormat: 'json'`: parsed, or the server's refusal, or an error for what is not JSON text. */
  #jsonMessage(data: unknown): void {
    let value: unknown;
    try {
      if (typeof data !== 'string') throw new TypeError('a binary message');
      value = JSON.parse(data);
    } catch (error) {
      this.emit('error', new SwitchyardClientError('SY_CLIENT_INVALID_MESSAGE', 'a message from the server is not JSON text (the client has messageFormat: json)', { cause: error }));
      return;
    }
    const rejected = (data as string).startsWith(REJECTION_PREFIX) ? rejectedInfo(value) : undefined;
    if (rejected !== undefined) this.emit('rejected', rejected);
    else this.emit('message', value as Incoming);
  }

  readonly #onClose = (event: SocketEvent): void => {
    const socket = this.#socket;
    if (socket !== undefined) this.#detach(socket);
    this.#closed(event);
  };

  /** A connection (or an attempt) ended: reject what was sent, then reconnect or stop as the code says. */
  #closed(event: SocketEvent): void {
    clearTimeout(this.#connectTimer);
    this.#socket = undefined;
    if (this.#state === 'closed') return;
    const code = event.code ?? 1006;
    const reason = event.reason ?? '';
    this.#requests.disconnected(code, reason);
    const refusal = this.#refusal;
    const options = this.#options;
    const action: ReconnectAction = refusal !== undefined ? statusAction(refusal.status, options.httpStatuses) : closeAction(code, options.closeCodes);
    // A connection that lasted resets the count; one closed soon after opening (a 1013 at once) keeps backing off.
    if (this.#state === 'open' && Date.now() - this.#openedAt >= options.stableAfter) this.#attempts = 0;
    const attempt = this.#attempts + 1;
    if (action === 'final' || !options.reconnect || attempt > options.maxAttempts) {
      this.#stop(code, reason);
      this.emit('close', { code, reason, reconnect: false });
      // A 1000 is the server ending the session on purpose, not a failure.
      if (!(action === 'final' && code === 1000 && refusal === undefined)) this.emit('error', new GaveUpError(code, reason, refusal?.status, this.#attempts));
      return;
    }
    this.#attempts = attempt;
    const retryAfter = refusal === undefined ? undefined : parseRetryAfter(refusal.retryAfter, Date.now());
    const delay = reconnectDelay(action, attempt, options, Math.random, retryAfter);
    this.#state = 'reconnecting';
    this.emit('close', { code, reason, reconnect: true });
    // A 'close' listener may have called close(): then nothing is scheduled.
    if (this.#state !== 'reconnecting') return;
    this.emit('reconnecting', { attempt, delay, code, status: refusal?.status });
    if (this.#state === 'reconnecting') this.#retryTimer = setTimeout(this.#onRetry, delay);
  }

  readonly #onRetry = (): void => {
    this.#open();
  };

  /** The end: no timers, no listeners; what is queued is reported, what waits for an answer rejected. */
  #stop(code: number, reason: string): void {
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#socket = undefined;
    browser.removeEventListener?.('online', this.#onOnline);
    this.#requests.rejectAll(code, reason);
    const messages = this.#queue.drain().filter((entry) => entry.id === undefined).map((entry) => entry.data);
    if (messages.length > 0) this.emit('undelivered', { reason: 'closed', messages });
  }

  /** Writes to the open socket; false when there is none (the caller queues). */
  #write(entry: QueuedEntry): boolean {
    const socket = this.#socket;
    if (this.#state !== 'open' || socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(entry.frame as never);
    return true;
  }

  #detach(socket: WebSocketLike): void {
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = ignore;
  }
}

function ignore(): void {}

function rethrow(error: unknown): never {
  throw error;
}

/**
 * Connects to a Switchyard service (`'wss://host/chat'`, or `'/chat'` in a
 * page) and keeps reconnecting as the server's close codes say. Throws
 * `SY_CLIENT_INVALID_ARGUMENT` at once for a bad URL or option.
 */
export function connect(url: string, options?: ClientOptions): SwitchyardClient;
/**
 * A typed client: `message` events carry `Incoming` (what the service
 * sends, parsed from JSON), `send` takes `Outgoing` (what its `onMessage`
 * receives). `messageFormat: 'json'` is required: the types alone do not
 * make the client parse.
 */
export function connect<Incoming, Outgoing = unknown>(url: string, options: JsonClientOptions): SwitchyardClient<Incoming, Outgoing>;
export function connect(url: string, options?: ClientOptions): SwitchyardClient<unknown, unknown> {
  return new SwitchyardClient(url, options);
}
