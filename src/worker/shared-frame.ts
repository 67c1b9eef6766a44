/**
 * One WebSocket frame written to many sockets. A publish or broadcast sends
 * the same bytes to every recipient; framing them once and writing the one
 * Buffer to each TCP socket spares `ws`'s per-send work (options, a header
 * Buffer, a cork pair, callbacks) for every recipient. Only sockets without a
 * negotiated extension may take it: with permessage-deflate each socket's
 * frame differs, and `ws` must write it.
 */
import type { WebSocket } from 'ws';
import { tcpSocketOf } from './tcp-socket';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const FIN = 0x80;

/** The complete server-to-client frame (FIN, unmasked) carrying `payload`. */
export function frameOnce(payload: Buffer, binary: boolean): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN | (binary ? OPCODE_BINARY : OPCODE_TEXT);
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/**
 * Whether frames may be written to this socket's TCP connection directly:
 * no extension was negotiated, so `ws` writes every frame of it synchronously
 * and in call order, and a direct write keeps that order.
 */
export function takesSharedFrames(socket: WebSocket): boolean {
  return socket.extensions === '' && tcpSocketOf(socket) !== undefined;
}

/** Writes a frame from `frameOnce` to the socket's TCP connection. */
export function writeSharedFrame(socket: WebSocket, frame: Buffer): void {
  tcpSocketOf(socket)?.write(frame);
}

