/**
 * Raw WebSocket frames (RFC 6455 §5.2) for tests that must send what a
 * well-behaved client library never would, and a reader for what the server
 * sends back.
 */
import { randomBytes } from 'node:crypto';
import { constants, deflateRawSync } from 'node:zlib';

export const OPCODES = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface FrameOptions {
  /** Clients must mask every frame; false builds the protocol error. Default true. */
  readonly mask?: boolean;
  readonly fin?: boolean;
  /** Sets RSV1: with permessage-deflate negotiated, the payload is compressed (RFC 7692). Default false. */
  readonly rsv1?: boolean;
}

/** One frame with `opcode` (any 4-bit value, reserved ones included) and `payload`. */
export function frame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const masked = options.mask ?? true;
  const length = data.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended + (masked ? 4 : 0));
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 === true ? 0x40 : 0) | (opcode & 0x0f);
  head[1] = (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) head.writeUInt16BE(length, 2);
  if (extended === 8) head.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  key.copy(head, 2 + extended);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, body]);
}

/**
 * `data` compressed as one permessage-deflate message (RFC 7692 §7.2.1):
 * raw deflate ended by a sync flush, without its trailing 00 00 ff ff.
 */
export function deflatedPayload(data: Buffer): Buffer {
  const deflated = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return deflated.subarray(0, deflated.length - 4);
}

export interface Frame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The status code of a close frame's payload, or undefined when it has none. */
export function closeCode(payload: Buffer): number | undefined {
  return payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
}

/** Splits a byte stream from the server (unmasked frames) into frames. */
export class FrameReader {
  private buffered = Buffer.alloc(0);

  /** Adds bytes; returns the frames they complete. */
  push(chunk: Buffer): Frame[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered.length < 2) break;
      const short = this.buffered[1] & 0x7f;
      const headLength = short === 126 ? 4 : short === 127 ? 10 : 2;
      if (this.buffered.length < headLength) break;
      const length = short === 126 ? this.buffered.readUInt16BE(2) : short === 127 ? Number(this.buffered.readBigUInt64BE(2)) : short;
      if (this.buffered.length < headLength + length) break;
      frames.push({ opcode: this.buffered[0] & 0x0f, payload: this.buffered.subarray(headLength, headLength + length) });
      this.buffered = this.buffered.subarray(headLength + length);
    }
    return frames;
  }
}
