/**
 * Client-to-server frames. RFC 6455 §5.3 requires every one to be masked with
 * a fresh, unpredictable key; a server (`ws` among them) closes the
 * connection on an unmasked one.
 */
import { randomFillSync } from 'node:crypto';
import { Opcode } from './wire';

/**
 * Mask keys come from a block of random bytes refilled when used up: one
 * randomFillSync per 2,048 frames instead of one per frame (as `ws` does).
 */
const MASK_BLOCK_BYTES = 8 * 1024;
const maskBlock = Buffer.allocUnsafe(MASK_BLOCK_BYTES);
let maskOffset = MASK_BLOCK_BYTES;

function copyMaskTo(frame: Buffer, at: number): void {
  if (maskOffset === MASK_BLOCK_BYTES) {
    randomFillSync(maskBlock);
    maskOffset = 0;
  }
  maskBlock.copy(frame, at, maskOffset, maskOffset + 4);
  maskOffset += 4;
}

/** One complete (FIN) masked frame. */
export function encodeClientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const maskAt = 2 + lengthBytes;
  const dataAt = maskAt + 4;
  const frame = Buffer.allocUnsafe(dataAt + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  copyMaskTo(frame, maskAt);
  const mask0 = frame[maskAt] as number, mask1 = frame[maskAt + 1] as number, mask2 = frame[maskAt + 2] as number, mask3 = frame[maskAt + 3] as number;
  let i = 0;
  for (; i + 3 < length; i += 4) {
    frame[dataAt + i] = (payload[i] as number) ^ mask0;
    frame[dataAt + i + 1] = (payload[i + 1] as number) ^ mask1;
    frame[dataAt + i + 2] = (payload[i + 2] as number) ^ mask2;
    frame[dataAt + i + 3] = (payload[i + 3] as number) ^ mask3;
  }
  for (; i < length; i++) frame[dataAt + i] = (payload[i] as number) ^ (frame[maskAt + (i & 3)] as number);
  return frame;
}

/** A close frame: with `code` as its status, or with no body when there is none to give (the peer then sees 1005). */
export function encodeCloseFrame(code?: number): Buffer {
  if (code === undefined) return encodeClientFrame(Opcode.CLOSE, Buffer.alloc(0));
  const body = Buffer.allocUnsafe(2);
  body.writeUInt16BE(code, 0);
  return encodeClientFrame(Opcode.CLOSE, body);
}
