/**
 * Deadlines for closes the worker starts because of a limit. A client that
 * does not read (a slow consumer) never receives the close frame queued
 * behind its backlog, and `ws` would hold the socket for its own 30 s close
 * timeout; past `graceMs` this terminates it instead. One timer per worker,
 * running only while some close is pending.
 */
import { WebSocket } from 'ws';

export type ClosingPeer = Pick<WebSocket, 'readyState' | 'terminate'>;

export class CloseDeadlines<P extends ClosingPeer = ClosingPeer> {
  /** Peer → time after which it is terminated (ms, monotonic clock). */
  private readonly pending = new Map<P, number>();
  private timer: NodeJS.Timeout | undefined;
  private terminatedCount = 0;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Peers terminated because their close did not finish in time. */
  get terminated(): number {
    return this.terminatedCount;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Starts the grace period of a peer whose close has just been sent. */
  add(peer: P): void {
    if (this.pending.has(peer)) return;
    this.pending.set(peer, this.now() + this.graceMs);
    if (this.timer === undefined) {
      // A tick of a quarter of the grace: a stuck peer is cut at most 25 % late.
      this.timer = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.graceMs / 4)));
      this.timer.unref();
    }
  }

  /** The peer closed (cleanly or not): nothing left to do for it. */
  delete(peer: P): void {
    this.pending.delete(peer);
    if (this.pending.size === 0) this.stopTimer();
  }

  /** One pass; public so that tests can drive it with their own clock. */
  sweep(now: number = this.now()): void {
    for (const [peer, deadline] of this.pending) {
      if (peer.readyState === WebSocket.CLOSED) {
        this.pending.delete(peer);
      } else if (now >= deadline) {
        this.pending.delete(peer);
        this.terminatedCount++;
        peer.terminate();
      }
    }
    if (this.pending.size === 0) this.stopTimer();
  }

  close(): void {
    this.stopTimer();
    this.pending.clear();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
