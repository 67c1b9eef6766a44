/**
 * Requests a service answers with `onRequest`: over HTTP (`/services/<name>`)
 * or over WebSocket through the request envelope. The handler's return value
 * is the reply; `reply()` sets an HTTP status and headers; a thrown
 * `RequestError` becomes an error reply with its status and code.
 */
import type { Client } from './client';

export interface ServiceRequest {
  readonly transport: 'http' | 'websocket';
  /** The WebSocket client that sent the request; undefined over HTTP. */
  readonly client: Client | undefined;
  /** The HTTP method; `'MESSAGE'` for WebSocket requests. */
  readonly method: string;
  /** HTTP: the path below `/services/<name>` (at least `/`); WebSocket: the client's path. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** HTTP: the request headers (lower-case names); WebSocket: the client's forwarded headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP: the body, a string when it is valid UTF-8, else a Buffer (empty string when none); WebSocket: the envelope's `data`. */
  readonly body: unknown;
  /**
   * The authenticated user, with `authenticate` or `jwt` set (HTTP: the
   * request's own identity; WebSocket: its connection's); undefined without
   * an authenticator.
   */
  readonly user: string | undefined;
  /** The identity's claims (a JWT's payload), when the authenticator gave any. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
}

const REPLY_BRAND = Symbol.for('switchyard.reply');

export interface Reply {
  readonly [REPLY_BRAND]: true;
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** A reply with an HTTP status and headers (over WebSocket only `body` is used). */
export function reply(status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): Reply {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`status must be an integer from 200 to 599, got ${status}`);
  return { [REPLY_BRAND]: true, status, body, headers };
}

export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[REPLY_BRAND] === true;
}

/** Throw from `onRequest` to answer with an error: HTTP `status` and a JSON body `{ error: code, message }`. */
export class RequestError extends Error {
  override readonly name = 'RequestError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
