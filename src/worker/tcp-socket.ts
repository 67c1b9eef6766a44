/**
 * What is under a `ws` socket: its TCP connection (`_socket`) and its frame
 * receiver (`_receiver`, a stream). Neither is public API: everything that
 * needs them goes through this one narrow view.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

export function tcpSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}

/** The socket's frame receiver (an EventEmitter in ws 8), or undefined where ws keeps none of that shape. */
export function receiverOf(socket: WebSocket): EventEmitter | undefined {
  const receiver = (socket as unknown as { readonly _receiver?: unknown })._receiver;
  return receiver instanceof EventEmitter ? receiver : undefined;
}
