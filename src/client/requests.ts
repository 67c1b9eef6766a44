/**
 * Requests over the server's envelope (`{"$req": id, "data": …}` answered by
 * `{"$res": id, "data": …}` or `{"$res": id, "error": {code, message}}`, see
 * src/services/request-envelope.ts): one table of pending requests by id,
 * each with its own timer. A request is never resent: when the connection
 * drops after it was written, the server may have handled it, so it is
 * rejected with `DisconnectedError` (`sent: true`).
 */
import { DisconnectedError, RequestError, SwitchyardClientError, TimeoutError } from './errors';
import type { QueuedEntry, SendQueue } from './send-queue';
import { utf8Length } from './send-queue';

const RESPONSE_PREFIX = '{"$res":';

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Its place in the offline queue until it is written; undefined once sent. */
  entry: QueuedEntry | undefined;
}

export class PendingRequests {
  #nextId = 1;
  #pending = new Map<number, Pending>();
  readonly #queue: SendQueue;

  constructor(queue: SendQueue) {
    this.#queue = queue;
  }

  /**
   * A new request: its envelope (to write or queue) and its promise. Throws
   * at once when JSON cannot hold `data` (a caller bug).
   */
  create(data: unknown, timeout: number): { readonly entry: QueuedEntry; readonly promise: Promise<unknown> } {
    const id = this.#nextId++;
    let frame: string;
    try {
      frame = JSON.stringify({ $req: id, data });
    } catch (error) {
      throw new SwitchyardClientError('SY_CLIENT_INVALID_ARGUMENT', 'request data must be JSON-serialisable', { cause: error });
    }
    const entry: QueuedEntry = { frame, bytes: utf8Length(frame), id };
    const promise = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(expire, timeout, this, id, timeout);
      this.#pending.set(id, { resolve, reject, timer, entry });
    });
    return { entry, promise };
  }

  /** The request left the offline queue for the socket (or never needed it). */
  sent(id: number): void {
    const pending = this.#pending.get(id);
    if (pending !== undefined) pending.entry = undefined;
  }

  /** Fails one request (its queue entry refused). */
  fail(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#finish(id, pending);
    pending.reject(error);
  }

  /**
   * Settles the request a text message answers. True when the text answers a
   * request of this client: a pending one, now settled, or one it no longer
   * waits for (timed out, disconnected), whose late answer is dropped. False
   * for anything else, which is an ordinary message.
   */
  settle(text: string): boolean {
    const answer = parseAnswer(text);
    const id = answer?.$res;
    if (typeof id !== 'number' || !(id > 0 && id < this.#nextId)) return false;
    const pending = this.#pending.get(id);
    // Still queued, so never sent: this text cannot be its answer, it is an ordinary message.
    if (pending === undefined) return true;
    if (pending.entry !== undefined) return false;
    this.#finish(id, pending);
    const error = (answer as Record<string, unknown>).error as { code?: unknown; message?: unknown } | undefined | null;
    if (error !== undefined && error !== null) {
      pending.reject(new RequestError(String(error.code), typeof error.message === 'string' ? error.message : 'request failed'));
    } else {
      pending.resolve((answer as Record<string, unknown>).data);
    }
    return true;
  }

  /** The connection ended: every request already written is rejected (`sent: true`); queued ones wait for the next connection. */
  disconnected(code: number, reason: string): void {
    for (const [id, pending] of this.#pending) {
      if (pending.entry !== undefined) continue;
      this.#finish(id, pending);
      pending.reject(new DisconnectedError(true, code, reason));
    }
  }

  /** The client stopped: every request is rejected, queued ones with `sent: false`. */
  rejectAll(code: number, reason: string): void {
    for (const [id, pending] of this.#pending) {
      this.#finish(id, pending);
      pending.reject(new DisconnectedError(pending.entry === undefined, code, reason));
    }
  }

  /** Timer callback (a module function, no closure per request). */
  expire(id: number, timeout: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#finish(id, pending);
    pending.reject(new TimeoutError(timeout));
  }

  #finish(id: number, pending: Pending): void {
    clearTimeout(pending.timer);
    if (pending.entry !== undefined) this.#queue.remove(pending.entry);
    this.#pending.delete(id);
  }
}

function expire(requests: PendingRequests, id: number, timeout: number): void {
  requests.expire(id, timeout);
}

function parseAnswer(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith(RESPONSE_PREFIX)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
