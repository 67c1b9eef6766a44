/**
 * A client's Close, or its protocol error, answered only after the replies to
 * what it sent before. `ws` answers a Close frame at once (its receiver's
 * 'conclude' listener calls `close()`) and fails the connection at once on a
 * protocol error (its 'error' listener calls `close(1002)`); a reply still on
 * its way back from the service then finds the socket closing and is dropped,
 * where a single-process server would have sent it. RFC 6455 §5.5.1 lets an
 * endpoint finish sending its current messages before it sends its Close.
 *
 * So those two listeners of each client's receiver are taken over: when the
 * client's last event on its link is still unacknowledged, the socket stops
 * being read (nothing after a Close or an error may be taken as a message)
 * and `ws`'s own listener runs later, with the same arguments — once the link
 * has acknowledged that event, once the socket is no longer open for another
 * reason (a limit, the service, a stop closed it), or when `graceMs` ends.
 * The service acknowledges an event after its handler settled, and the
 * replies it sent meanwhile travel ahead of the ack on the same ordered link,
 * so by the time the ack is read they have been written to the socket, ahead
 * of the Close. Replies a handler sends after it settled (from a timer it did
 * not await) are not waited for.
 *
 * A worker that stops or retires (reload) holds its own 1001/1012 closes the
 * same way (`closeAfterReplies`): a client with events still unacknowledged
 * gets its close once they are acknowledged and their replies written,
 * within a bound the master gives with the stop. A client with nothing in
 * flight is closed at once, so an idle stop costs nothing. Such a client is
 * still read meanwhile: what it sends before it sees the close is handled
 * (docs/client.md promises it), and answered when it leaves a gap in which
 * nothing of it is unacknowledged; only what it sends within the round trip
 * of the close frame is handled without an answer.
 *
 * This reaches into `ws` internals (`_receiver` and its listeners, ws 8).
 * Should they differ, closes are answered at once, as `ws` does, after one
 * warning. One timer per worker, running only while some close is held; no
 * closure per connection: the listeners are module-level functions that find
 * the client on the receiver, as `ws` finds its WebSocket there.
 */
import type { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import type { Logger } from '../logger';
import type { ClientEntry } from './client-registry';
import { receiverOf } from './tcp-socket';
import type { ServiceLink } from './service-link';

type ConcludeListener = (this: EventEmitter, code: number, reason: Buffer) => void;
type ErrorListener = (this: EventEmitter, error: Error) => void;

const ENTRY = Symbol('switchyard.held-entry');
const HOLDER = Symbol('switchyard.held-by');
type Receiver = EventEmitter & { [ENTRY]?: ClientEntry; [HOLDER]?: HeldCloses };

/** What `ws`'s listener is called with once the close is let go, or the worker's own close (`stop`: a stop or a reload). */
type WsDeferred = { readonly kind: 'conclude'; readonly code: number; readonly reason: Buffer } | { readonly kind: 'error'; readonly error: Error };
type Deferred = WsDeferred | { readonly kind: 'stop'; readonly code: number; readonly reason: string };

interface Held {
  /** Undefined for the worker's own close, which needs no `ws` listener. */
  readonly receiver: Receiver | undefined;
  /** Monotonic ms after which the close goes out whatever is still unacknowledged. */
  readonly deadline: number;
  readonly deferred: Deferred;
}

interface WsListeners {
  readonly conclude: ConcludeListener;
  readonly error: ErrorListener;
}

/**
 * `ws`'s receiver listeners, read from the first receiver: module-level
 * functions of `ws`, the same for every socket. `null`: not as expected.
 */
let wsListeners: WsListeners | null | undefined;

function receiverFor(socket: WebSocket): Receiver | undefined {
  return receiverOf(socket) as Receiver | undefined;
}

function readWsListeners(receiver: Receiver): WsListeners | null {
  const conclude = receiver.listeners('conclude');
  const error = receiver.listeners('error');
  if (conclude.length !== 1 || error.length !== 1) return null;
  return { conclude: conclude[0] as ConcludeListener, error: error[0] as ErrorListener };
}

function receiverOnConclude(this: Receiver, code: number, reason: Buffer): void {
  const entry = this[ENTRY] as ClientEntry;
  (this[HOLDER] as HeldCloses).concluded(this, entry, code, reason);
}

function receiverOnError(this: Receiver, error: Error): void {
  const entry = this[ENTRY] as ClientEntry;
  (this[HOLDER] as HeldCloses).failed(this, entry, error);
}

/** The closes of one worker's clients that wait for their replies. */
export class HeldCloses {
  private readonly held = new Map<ClientEntry, Held>();
  private timer: NodeJS.Timeout | undefined;
  private releasedLateCount = 0;

  constructor(
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Closes held right now. */
  get size(): number {
    return this.held.size;
  }

  /** Closes that went out at the end of the grace, with something still unacknowledged. */
  get releasedLate(): number {
    return this.releasedLateCount;
  }

  /** Takes over a new client's Close and protocol-error listeners (nothing when the grace is 0). */
  watch(entry: ClientEntry): void {
    if (this.graceMs === 0) return;
    const receiver = receiverFor(entry.socket);
    if (wsListeners === undefined) {
      wsListeners = receiver === undefined ? null : readWsListeners(receiver);
      if (wsListeners === null) this.log.warn('ws internals are not as expected: closes are answered at once (closeGrace ignored)');
    }
    if (wsListeners === null || receiver === undefined) return;
    receiver[ENTRY] = entry;
    receiver[HOLDER] = this;
    receiver.removeListener('conclude', wsListeners.conclude);
    receiver.on('conclude', receiverOnConclude);
    receiver.removeListener('error', wsListeners.error);
    receiver.on('error', receiverOnError);
  }

  /** The client's Close frame arrived (called by the shared listener). */
  concluded(receiver: Receiver, entry: ClientEntry, code: number, reason: Buffer): void {
    this.holdOrPass(receiver, entry, { kind: 'conclude', code, reason });
  }

  /** The client broke the protocol (called by the shared listener). */
  failed(receiver: Receiver, entry: ClientEntry, error: Error): void {
    // A later error of a client already held (its socket is paused, so hardly any) changes nothing: ws reports only the first.
    if (this.held.has(entry)) return;
    this.holdOrPass(receiver, entry, { kind: 'error', error });
  }

  /**
   * The worker stops or retires: closes the client with `code` now when
   * nothing it sent waits for an acknowledgement, else closes it once
   * everything it sent has been acknowledged (its replies written ahead of
   * the close), once its socket stops being open for another reason, or
   * after `holdMs`, whichever comes first. A client whose own Close is
   * held already keeps that hold (it ends within `closeGrace`).
   */
  closeAfterReplies(entry: ClientEntry, code: number, reason: string, holdMs: number): void {
    if (this.held.has(entry)) return;
    if (holdMs <= 0 || !this.waits(entry)) {
      entry.socket.close(code, reason);
      return;
    }
    this.hold(entry, { receiver: undefined, deadline: this.now() + holdMs, deferred: { kind: 'stop', code, reason } }, holdMs);
  }

  /** A batch from `link` has been carried out: closes of its clients whose events are all acknowledged go out now. */
  settle(link: ServiceLink): void {
    if (this.held.size === 0) return;
    for (const [entry, held] of this.held) {
      if (entry.link === link && !this.waits(entry)) this.release(entry, held);
    }
  }

  /** The client's socket closed: nothing to answer any more. */
  forget(entry: ClientEntry): void {
    if (this.held.size === 0) return;
    this.held.delete(entry);
    if (this.held.size === 0) this.stopTimer();
  }

  /** One pass over the held closes; public so that tests can drive it with their own clock. */
  sweep(now: number = this.now()): void {
    for (const [entry, held] of this.held) {
      if (!this.waits(entry)) {
        this.release(entry, held);
      } else if (now >= held.deadline) {
        this.releasedLateCount++;
        this.log.debug({ client: entry.id, service: entry.service, close: held.deferred.kind }, 'close held to its bound; sent with replies still pending');
        this.release(entry, held);
      }
    }
  }

  /** Answers every held close now (the worker stops) and stops the timer. */
  close(): void {
    for (const [entry, held] of this.held) this.release(entry, held);
    this.stopTimer();
  }

  /** Whether the client still has an event its service has not acknowledged, and a socket to write its replies to. */
  private waits(entry: ClientEntry): boolean {
    return entry.socket.readyState === WebSocket.OPEN && entry.link.isPending(entry.lastSeq);
  }

  private holdOrPass(receiver: Receiver, entry: ClientEntry, deferred: WsDeferred): void {
    if (!this.waits(entry)) {
      callWs(receiver, deferred);
      return;
    }
    this.hold(entry, { receiver, deadline: this.now() + this.graceMs, deferred }, this.graceMs);
  }

  private hold(entry: ClientEntry, held: Held, boundMs: number): void {
    // Nothing after a Close or a protocol error may be read as a message (ws's listener resumes the socket when it runs). The worker's own close reads on: see the top of the file.
    if (held.deferred.kind !== 'stop') entry.socket.pause();
    this.held.set(entry, held);
    if (this.timer === undefined) {
      // A tick of a quarter of the bound (10 to 100 ms): a close that a limit or the service asked for meanwhile is not kept long.
      this.timer = setInterval(() => this.sweep(), Math.max(10, Math.min(100, Math.floor(boundMs / 4))));
      this.timer.unref();
    }
  }

  private release(entry: ClientEntry, held: Held): void {
    this.held.delete(entry);
    if (this.held.size === 0) this.stopTimer();
    if (entry.socket.readyState === WebSocket.CLOSED) return;
    if (held.deferred.kind !== 'stop') {
      callWs(held.receiver as Receiver, held.deferred);
      return;
    }
    entry.socket.close(held.deferred.code, held.deferred.reason);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Runs `ws`'s own listener, as the receiver would have. */
function callWs(receiver: Receiver, deferred: WsDeferred): void {
  const listeners = wsListeners as WsListeners;
  switch (deferred.kind) {
    case 'conclude':
      listeners.conclude.call(receiver, deferred.code, deferred.reason);
      return;
    case 'error':
      listeners.error.call(receiver, deferred.error);
      return;
    default: {
      const unreachable: never = deferred;
      throw new Error(`unhandled close ${JSON.stringify(unreachable)}`);
    }
  }
}
