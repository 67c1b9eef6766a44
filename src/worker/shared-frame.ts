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

/**
 * Single messages below this many bytes are framed here, header and payload
 * in one Buffer (`frameMessage`); larger ones go through `ws`, which writes
 * the header and the payload as they are, without copying the payload.
 */
export const DIRECT_FRAME_MAX = 16 * 1024;

function headerLengthOf(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** A frame of `length` payload bytes, its header written, its payload not yet. */
function frameFor(length: number, binary: boolean): Buffer {
  const frame = Buffer.allocUnsafe(headerLengthOf(length) + length);
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
  return frame;
}

/** The complete server-to-client frame (FIN, unmasked) carrying `payload`. */
export function frameOnce(payload: Buffer, binary: boolean): Buffer {
  const frame = frameFor(payload.length, binary);
  payload.copy(frame, headerLengthOf(payload.length));
  return frame;
}

/**
 * The frame of one message to one socket, `data` (a string: its UTF-8 bytes,
 * `byteLength` of them) written straight into it: one small Buffer and one
 * write, where `ws.send` takes its options, a header Buffer, a cork pair and
 * a two-part write. For messages under `DIRECT_FRAME_MAX`.
 */
export function frameMessage(data: string | Buffer, byteLength: number, binary: boolean): Buffer {
  const frame = frameFor(byteLength, binary);
  const offset = headerLengthOf(byteLength);
  if (typeof data === 'string') frame.write(data, offset, byteLength, 'utf8');
  else data.copy(frame, offset);
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

