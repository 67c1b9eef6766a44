/**
 * Reading one HTTP request body for a service, within three bounds: its own
 * size (`maxRequestBody`: 413), the bytes the whole worker buffers at once
 * (`maxBufferedRequestBytes`: 503) and the pause between two of its chunks
 * (`requestBodyIdleTimeout`: 408). The total time a request may take is
 * node:http's `requestTimeout` (set from `requestBodyTimeout` in limits.ts,
 * answered in http-reply.ts). Without these a client that declares 1 MiB,
 * sends all but a byte and stalls kept that MiB in the worker for node's
 * 300 s, and two thousand of them took a worker past a gigabyte.
 */
import type { IncomingMessage } from 'node:http';

/** How a body read ended; `complete` carries the body. */
export type BodyOutcome =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'overBudget' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'aborted' };

const TOO_LARGE: BodyOutcome = Object.freeze({ kind: 'tooLarge' });
const OVER_BUDGET: BodyOutcome = Object.freeze({ kind: 'overBudget' });
const IDLE: BodyOutcome = Object.freeze({ kind: 'idle' });
const ABORTED: BodyOutcome = Object.freeze({ kind: 'aborted' });

/** The request-body bytes one worker holds at once, over all its requests. */
export class BodyBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get held(): number {
    return this.used;
  }

  /** Whether `bytes` more would fit now (nothing is taken). */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.limit;
  }

  /** Takes `bytes`; false (and nothing taken) when they do not fit. */
  take(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.used -= bytes;
  }
}

export interface BodyLimits {
  /** Largest body, in bytes (`maxRequestBody`). */
  readonly maxBytes: number;
  /** Longest pause between two chunks, in ms (`requestBodyIdleTimeout`). */
  readonly idleTimeout: number;
}

/**
 * Where a request keeps its reader for the shared listeners below (module-level
 * functions called with the request as `this`), as limits.ts keeps its state
 * on sockets.
 */
const READER = Symbol('switchyard.body-reader');
type ReadRequest = IncomingMessage & { [READER]?: BodyReader };

function requestOnData(this: IncomingMessage, chunk: Buffer): void {
  (this as ReadRequest)[READER]?.chunk(chunk);
}

function requestOnEnd(this: IncomingMessage): void {
  (this as ReadRequest)[READER]?.end();
}

/** After `end` this finds no reader; before it, the client went away mid-body. */
function requestOnClose(this: IncomingMessage): void {
  (this as ReadRequest)[READER]?.finish(ABORTED);
}

/** node:http emits `timeout` on a request whose body is not complete when its socket was idle for the set time. */
function requestOnTimeout(this: IncomingMessage): void {
  (this as ReadRequest)[READER]?.finish(IDLE);
}

/** A reset mid-body is also a `close`, handled there. */
function requestOnError(): void {}

/**
 * Run in the same turn of the event loop, once node's parser is done with
 * the bytes read with the request's head (a `setImmediate`: node runs the
 * tick queue between the parser's callbacks, so a `nextTick` would come
 * before the body's): a body that came with them (most small ones) is
 * complete by now and needs no idle timer; any other starts its idle clock
 * here. Arming it up front cost every request a socket timer set and cleared
 * (two timer-list updates, a bound function, a listener added and removed),
 * about 1 % of a worker's CPU per request (issue 17).
 */
function armIdleTimer(reader: BodyReader): void {
  reader.armIdle();
}

/**
 * Reads the body of `request`; `onDone` is called exactly once, at once when
 * the declared `Content-Length` is over the limit or does not fit the budget
 * now. The budget's bytes for a complete body are held until `onDone`
 * returns (it forwards the body, which copies it); what arrives after a
 * refusal is read and dropped until node closes the connection.
 */
export function readBody(request: IncomingMessage, budget: BodyBudget, limits: BodyLimits, onDone: (outcome: BodyOutcome) => void): void {
  // node has checked the header: absent, or one non-negative integer.
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limits.maxBytes) return onDone(TOO_LARGE);
  if (!budget.fits(declared)) return onDone(OVER_BUDGET);
  const reader = new BodyReader(request, budget, limits.maxBytes, limits.idleTimeout, onDone);
  (request as ReadRequest)[READER] = reader;
  request.on('data', requestOnData);
  request.once('end', requestOnEnd);
  request.once('close', requestOnClose);
  request.on('error', requestOnError);
  setImmediate(armIdleTimer, reader);
}

class BodyReader {
  private chunks: Buffer[] = [];
  /** Bytes received, and bytes of them taken from the budget (all until a refusal). */
  private size = 0;
  private reserved = 0;
  /** Whether the idle timer was set on the request (its socket): then `finish` clears it. */
  private idleArmed = false;

  constructor(
    private readonly request: IncomingMessage,
    private readonly budget: BodyBudget,
    private readonly maxBytes: number,
    private readonly idleTimeout: number,
    private readonly onDone: (outcome: BodyOutcome) => void,
  ) {}

  /** Starts the idle clock unless the read is over or the whole body is here already. */
  armIdle(): void {
    const request = this.request as ReadRequest;
    if (request[READER] !== this || request.complete) return;
    this.idleArmed = true;
    request.setTimeout(this.idleTimeout, requestOnTimeout);
  }

  chunk(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return this.finish(TOO_LARGE);
    if (!this.budget.take(chunk.length)) return this.finish(OVER_BUDGET);
    this.reserved += chunk.length;
    this.chunks.push(chunk);
  }

  end(): void {
    this.finish({ kind: 'complete', body: Buffer.concat(this.chunks, this.size) });
  }

  /** Ends the read once: the request forgets its reader, its idle timer stops, the budget gets its bytes back after `onDone`. */
  finish(outcome: BodyOutcome): void {
    const request = this.request as ReadRequest;
    if (request[READER] !== this) return;
    request[READER] = undefined;
    // Only the body is timed here: waiting for the service's answer is `requestTimeout`'s business.
    if (this.idleArmed) {
      this.idleArmed = false;
      request.socket?.setTimeout(0);
      request.off('timeout', requestOnTimeout);
    }
    this.chunks = [];
    try {
      this.onDone(outcome);
    } finally {
      this.budget.give(this.reserved);
      this.reserved = 0;
    }
  }
}
