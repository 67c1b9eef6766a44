/**
 * Coalesces the frames written to one socket while a batch from a service is
 * handled: each socket touched is corked once and uncorked after the batch,
 * so several replies to one client leave in one write(v) system call instead
 * of one each. `ws` corks around its own multi-part frames too; corks nest.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { tcpSocketOf } from './tcp-socket';

export class SocketCorker {
  private readonly corked = new Set<Socket>();
  private active = false;

  /** Runs `work`, corking every socket `touch()`ed meanwhile, and uncorks them after. */
  batch(work: () => void): void {
    this.active = true;
    try {
      work();
    } finally {
      this.active = false;
      for (const socket of this.corked) socket.uncork();
      this.corked.clear();
    }
  }

  /** Call before writing to `socket`. */
  touch(socket: WebSocket): void {
    if (!this.active) return;
    const tcp = tcpSocketOf(socket);
    if (tcp === undefined || this.corked.has(tcp)) return;
    tcp.cork();
    this.corked.add(tcp);
  }
}
