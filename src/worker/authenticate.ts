/**
 * Authentication at the front door: the user's `authenticate` function (or
 * the built-in JWT one, jwt-auth.ts) runs in the worker for each WebSocket
 * upgrade and each HTTP request to `/services/<name>`, before any service
 * sees it. It answers with an identity, or a refusal that the worker sends as
 * the HTTP answer. Bounded twice per worker: each call has `timeout` ms (the
 * handshake timeout) to settle, and at most `maxConcurrent` run at once, so a
 * slow auth backend holds a bounded number of sockets.
 */
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { ThrottledWarning } from '../throttled-log';
import { RETRY_AFTER_SECONDS } from './connection-gate';
import { isThenable } from '../thenable';

/** What an authenticator is told about the request (an upgrade, or an HTTP request to a service). */
export interface AuthRequest {
  readonly method: string;
  /** The path, without the query string, exactly as sent. */
  readonly path: string;
  /** Query parameters (the last value wins for repeated keys). */
  readonly query: Readonly<Record<string, string>>;
  /** Every request header, lower-case names (repeated ones joined by node:http). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The `Cookie` header, parsed (the first value wins for repeated names). */
  readonly cookies: Readonly<Record<string, string>>;
  /** The TCP peer's address. */
  readonly remoteAddress: string;
}

/** Who the client is: `user` names it for `sendToUser`/`closeUser`; `claims` reach the service as given (JSON). */
export interface Identity {
  readonly user: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The default export of an `authenticate` module. Throw a `RequestError` to refuse with its status and code. */
export type AuthenticateFunction = (request: AuthRequest) => Identity | Promise<Identity>;

/** A refusal, answered as `status` with `{ "error": code, "message": message }`. */
export interface AuthRefusal {
  readonly ok: false;
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type AuthOutcome = { readonly ok: true; readonly user: string; readonly claims: Readonly<Record<string, unknown>> | undefined } | AuthRefusal;

export interface AuthLimits {
  /** How long one call may take, in ms (`handshakeTimeout`). */
  readonly timeout: number;
  /** Calls one worker runs at once (`maxConcurrentAuth`). */
  readonly maxConcurrent: number;
  /** Largest `claims`, as JSON bytes (`maxClaimsBytes`). */
  readonly maxClaimsBytes: number;
}

/** The longest `user` accepted: it is carried with every connect and kept with the client. */
export const MAX_USER_LENGTH = 1024;

function refusal(status: number, code: ErrorCode, message: string, headers?: Readonly<Record<string, string>>): AuthRefusal {
  return headers === undefined ? { ok: false, status, code, message } : { ok: false, status, code, message, headers };
}

const BUSY = refusal(503, 'SY_ERR_AUTH_BUSY', 'Too many authentications in progress', { 'Retry-After': RETRY_AFTER_SECONDS });
const TIMED_OUT = refusal(503, 'SY_ERR_AUTH_TIMEOUT', 'Authentication did not complete in time', { 'Retry-After': RETRY_AFTER_SECONDS });
/** What a client learns of an authenticator's own failure: nothing of its internals. */
const FAILED = refusal(500, 'SY_ERR_AUTH_FAILED', 'Authentication failed');

/** How the built-in authenticator (jwt-auth.ts) refuses: as a `RequestError` would, without the worker importing the services' code. */
export class AuthRefusedError extends Error {
  override readonly name = 'RequestError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A `RequestError` from any copy of this package (the user's module may
 * import its own): matched by name and shape, not by class.
 */
function asRequestRefusal(error: unknown): AuthRefusal | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, status, code, message } = error as { name?: unknown; status?: unknown; code?: unknown; message?: unknown };
  if (name !== 'RequestError' || typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) return undefined;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { ok: false, status, code, message };
}

/** Parses a `Cookie` header: `a=1; b=2`, values percent-decoded when they decode, quotes removed, the first of a name kept. */
export function parseCookies(header: string | undefined): Readonly<Record<string, string>> {
  const cookies: Record<string, string> = {};
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim();
    if (name === '' || Object.hasOwn(cookies, name)) continue;
    let value = part.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      cookies[name] = value.includes('%') ? decodeURIComponent(value) : value;
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/** Describes `request` for the authenticator. */
export function authRequestOf(request: IncomingMessage, path: string, query: Readonly<Record<string, string>>, remoteAddress = request.socket.remoteAddress ?? ''): AuthRequest {
  return {
    method: request.method ?? 'GET',
    path,
    query,
    headers: request.headers,
    cookies: parseCookies(request.headers.cookie),
    // The client's address as the intake found it: behind trusted proxies, the forwarded one (client-address.ts).
    remoteAddress,
  };
}

export class Authenticator {
  private running = 0;
  private readonly failedWarning: ThrottledWarning;
  private readonly timeoutWarning: ThrottledWarning;

  constructor(
    private readonly authenticate: AuthenticateFunction,
    private readonly limits: AuthLimits,
    log: Logger,
  ) {
    // A client can trigger both once per request: throttled.
    this.failedWarning = new ThrottledWarning(log, 'authenticator failed (answered 500)');
    this.timeoutWarning = new ThrottledWarning(log, 'authenticator did not answer within handshakeTimeout (answered 503)');
  }

  /** Calls in progress (each holds its socket until it is answered). */
  get inProgress(): number {
    return this.running;
  }

  /**
   * Authenticates `request`; `done` is called exactly once, with the
   * identity or the refusal to send. A call past `maxConcurrent` is refused
   * at once. An authenticator that answers synchronously (returns an
   * identity or throws; the built-in HS* one does) is answered before this
   * returns: no timer, no promise. One that returns a promise has `timeout`
   * ms to settle, else it is answered then (its slot freed: the socket is
   * what is bounded, since a call cannot be cancelled), and whatever it
   * settles with later is ignored.
   */
  run(request: AuthRequest, done: (outcome: AuthOutcome) => void): void {
    if (this.running >= this.limits.maxConcurrent) return done(BUSY);
    let result: unknown;
    let thenable: boolean;
    try {
      result = this.authenticate(request);
      // Inside the try: a `then` getter that throws fails the call, as Promise.resolve would make it.
      thenable = isThenable(result);
    } catch (error) {
      return done(this.failure(error, request));
    }
    // Measured in a JWT storm: a timer and a promise per upgrade were a fifth of what the authenticator cost; a plain value needs neither.
    if (!thenable) return done(this.accept(result, request));
    this.pending(result as PromiseLike<unknown>, request, done);
  }

  /** A call that returned a promise: it holds a slot and its timer until it settles or times out. */
  private pending(result: PromiseLike<unknown>, request: AuthRequest, done: (outcome: AuthOutcome) => void): void {
    this.running++;
    let answered = false;
    const finish = (outcome: AuthOutcome): void => {
      if (answered) return;
      answered = true;
      this.running--;
      clearTimeout(timer);
      done(outcome);
    };
    // One timer and one closure per authentication, not per connection: gone once answered.
    const timer = setTimeout(() => {
      this.timeoutWarning.warn({ path: request.path, timeoutMs: this.limits.timeout });
      finish(TIMED_OUT);
    }, this.limits.timeout);
    Promise.resolve(result).then(
      (identity) => finish(this.accept(identity, request)),
      (error: unknown) => finish(this.failure(error, request)),
    );
  }

  /** The identity the authenticator returned, checked: a well-formed one with claims within `maxClaimsBytes`. */
  private accept(identity: unknown, request: AuthRequest): AuthOutcome {
    if (typeof identity !== 'object' || identity === null) return this.invalid('the authenticator returned no identity object', request);
    let user: unknown, claims: unknown;
    try {
      ({ user, claims } = identity as { user?: unknown; claims?: unknown });
    } catch {
      // A getter that throws: the author's bug, answered as any failure (it would otherwise escape into the upgrade).
      return this.invalid('identity.user or identity.claims threw when read', request);
    }
    if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH) {
      return this.invalid(`identity.user must be a string of 1 to ${MAX_USER_LENGTH} characters`, request);
    }
    if (claims === undefined) return { ok: true, user, claims: undefined };
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return this.invalid('identity.claims must be an object', request);
    let text: string | undefined;
    try {
      text = JSON.stringify(claims);
    } catch {
      text = undefined;
    }
    if (text === undefined) return this.invalid('identity.claims cannot be serialized as JSON', request);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.limits.maxClaimsBytes) return this.invalid(`identity.claims is ${bytes} bytes as JSON, over maxClaimsBytes (${this.limits.maxClaimsBytes})`, request);
    return { ok: true, user, claims: claims as Readonly<Record<string, unknown>> };
  }

  private invalid(problem: string, request: AuthRequest): AuthRefusal {
    this.failedWarning.warn({ path: request.path, problem });
    return FAILED;
  }

  /** A thrown `RequestError` is the author's answer; anything else is a failure, logged (throttled) and answered 500. */
  private failure(error: unknown, request: AuthRequest): AuthRefusal {
    const refused = asRequestRefusal(error);
    if (refused !== undefined) return refused;
    this.failedWarning.warn({ err: error, path: request.path });
    return FAILED;
  }
}
