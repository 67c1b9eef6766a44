/**
 * One fake client of a `testService` harness: what the test does as the
 * client (send, request, close) becomes the link messages a worker would
 * send the service host, and what the service sends it is kept, decoded as
 * the client library would (parsed JSON for a typed service).
 */
import type { Client } from '../services/client';
import type { InvalidMessageReply } from '../services/typed-messages';
import { decodePayload, encodePayload, type Payload } from '../protocol';

/** The error reply of a typed service to a refused message (`SY_ERR_INVALID_MESSAGE`). */
export type Rejection = InvalidMessageReply['$error'];

/** An envelope request answered with an error, as `switchyard/client`'s `RequestError`: `code` is the server's. */
export class TestRequestError extends Error {
  override readonly name = 'TestRequestError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the harness does for its clients; one per harness. */
export interface ClientLink {
  /** Hands a client event to the host; resolves once its handler settled (rejects with the handler's error). */
  event(client: FakeClient<unknown, unknown>, event: ClientEvent): Promise<void>;
  readonly json: boolean;
}

export type ClientEvent = { readonly type: 'message'; readonly payload: Payload } | { readonly type: 'closed'; readonly code: number; readonly reason: string };

const REQUEST_LIMIT = 1000;

/**
 * A client connected to the service under test. `In` is what it sends (the
 * service's client message type), `Out` what it receives.
 */
export class FakeClient<In, Out> {
  /** What the service sent this client, in order: `send`, `broadcast`, `publish`, `sendToUser` (parsed JSON for a typed service). */
  readonly received: Out[] = [];
  /** A typed service's refusals of this client's messages, in order. */
  readonly rejections: Rejection[] = [];
  /** Topics the service subscribed this client to. */
  readonly topics = new Set<string>();
  /** Set when the service closed this client (`close`, `closeUser`), or the test did. */
  closed: { readonly code: number; readonly reason: string } | undefined;
  #nextRequest = 0;
  readonly #requests = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    /** The client as the service sees it (the same object its handlers get). */
    readonly info: Client,
    private readonly link: ClientLink,
  ) {}

  get id(): string {
    return this.info.id;
  }

  /** Sends a message: JSON text for a typed service, a string or Buffer as it is otherwise. Resolves once `onMessage` settled; rejects with what it threw. */
  send(message: In): Promise<void> {
    const raw = this.link.json ? JSON.stringify(message) : (message as string | Buffer);
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return Promise.reject(new TypeError('send() takes a string or a Buffer for an untyped service'));
    return this.sendRaw(raw);
  }

  /** Sends a frame as it is (text or binary), typed or not: to see what a typed service does with a bad message. */
  sendRaw(data: string | Buffer): Promise<void> {
    return this.link.event(this as FakeClient<unknown, unknown>, { type: 'message', payload: encodePayload(data) });
  }

  /** An envelope request (`{"$req": …}`) to `onRequest`: resolves with the answer's data, rejects with `TestRequestError` (its `code`). */
  request<T = unknown>(data: unknown): Promise<T> {
    if (this.#requests.size >= REQUEST_LIMIT) return Promise.reject(new Error(`more than ${REQUEST_LIMIT} requests waiting for an answer`));
    const id = ++this.#nextRequest;
    const answered = new Promise<unknown>((resolve, reject) => this.#requests.set(id, { resolve, reject }));
    // When the handler fails, the send rejects with its error, which wins over the error answer: that one must not go unhandled.
    answered.catch(ignore);
    return this.sendRaw(JSON.stringify({ $req: id, data })).then(() => answered as Promise<T>);
  }

  /** The client goes away: `onClose(code, reason)`; resolves once it settled. */
  close(code = 1000, reason = ''): Promise<void> {
    this.closed ??= { code, reason };
    return this.link.event(this as FakeClient<unknown, unknown>, { type: 'closed', code, reason });
  }

  /** @internal What the service sent: an envelope answer, a refusal, or a message. */
  deliver(payload: Payload): void {
    const data = decodePayload(payload);
    const text = typeof data === 'string' ? data : undefined;
    if (text !== undefined && text.startsWith('{"$res":') && this.#answer(text)) return;
    if (!this.link.json) {
      this.received.push(data as Out);
      return;
    }
    // As switchyard/client with messageFormat 'json': text parsed, a refusal apart.
    const value: unknown = text === undefined ? data : JSON.parse(text);
    const refusal = (value as Partial<InvalidMessageReply> | null)?.$error;
    if (text !== undefined && text.startsWith('{"$error":') && refusal !== undefined) this.rejections.push(refusal);
    else this.received.push(value as Out);
  }

  #answer(text: string): boolean {
    const answer = JSON.parse(text) as { $res: unknown; data?: unknown; error?: { code: string; message: string } };
    const pending = typeof answer.$res === 'number' ? this.#requests.get(answer.$res) : undefined;
    if (pending === undefined) return false;
    this.#requests.delete(answer.$res as number);
    if (answer.error !== undefined) pending.reject(new TestRequestError(answer.error.code, answer.error.message));
    else pending.resolve(answer.data);
    return true;
  }
}

function ignore(): void {}
