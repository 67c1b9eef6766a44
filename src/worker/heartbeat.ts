/**
 * Heartbeats for every client of a worker from one timer: each tick
 * terminates the peers that did not answer the previous ping and pings the
 * rest. A dead peer (pulled cable, suspended laptop, a NAT that forgot the
 * flow) is thus found within two intervals, and its service hears 1006.
 */
import { WebSocket } from 'ws';

export type HeartbeatPeer = Pick<WebSocket, 'readyState' | 'ping' | 'terminate'>;

export class Heartbeat<P extends HeartbeatPeer = HeartbeatPeer> {
  /** Peer → whether a ping to it is still unanswered. */
  private readonly peers = new Map<P, boolean>();
  private readonly timer: NodeJS.Timeout | undefined;
  private reapedCount = 0;

  /** `intervalMs` of 0 turns heartbeats off: peers are not even tracked. */
  constructor(private readonly intervalMs: number) {
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.sweep(), intervalMs);
      // The worker's lifetime is decided by the master, not by this timer.
      this.timer.unref();
    }
  }

  /** Peers terminated for not answering, since the start. */
  get reaped(): number {
    return this.reapedCount;
  }

  add(peer: P): void {
    if (this.intervalMs > 0) this.peers.set(peer, false);
  }

  /** The peer answered: it survives the next tick. */
  pong(peer: P): void {
    if (this.peers.has(peer)) this.peers.set(peer, false);
  }

  delete(peer: P): void {
    this.peers.delete(peer);
  }

  /** One tick; public so that tests can drive it without waiting. */
  sweep(): void {
    for (const [peer, awaiting] of this.peers) {
      if (awaiting) {
        this.peers.delete(peer);
        this.reapedCount++;
        peer.terminate();
      } else if (peer.readyState === WebSocket.OPEN) {
        // Peers already closing are left to the close handshake's own deadline.
        this.peers.set(peer, true);
        peer.ping();
      }
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.peers.clear();
  }
}
