/**
 * The TCP connection under a `ws` socket. `ws` keeps it in `_socket`, which is
 * not public API: everything that needs it goes through this one narrow view.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

export function tcpSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}
