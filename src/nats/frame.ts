/**
 * The frames of a reliable channel over core NATS (see docs/nats.md): a fixed
 * 26-byte binary header, then, for data frames only, the owner's payload as
 * is. Binary rather than JSON: the header is written for every frame, and the
 * payload (a link line, already JSON) is not escaped or copied a second time.
 *
 * ```
 * offset  size  field
 *      0     1  version (1)
 *      1     1  kind: 1 data, 2 ack, 3 nack, 4 reset
 *      2     6  sender epoch (uint48, never 0)
 *      8     6  receiver epoch the sender last heard (uint48, 0 = none yet)
 *     14     6  data: this frame's sequence number (from 1); nack: the last one wanted; else 0
 *     20     6  cumulative ack: every frame of the receiver's epoch up to this one arrived (0 = none)
 *     26     …  data: the payload
 * ```
 * What arrives from NATS is checked by `decodeFrame`; anything malformed is a
 * reason string for the caller to count, never an exception.
 */

export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 26;

/** The largest value a uint48 field holds: sequence numbers and epochs stay below it. */
export const MAX_UINT48 = 2 ** 48 - 1;

export type FrameKind = 'data' | 'ack' | 'nack' | 'reset';

const KIND_BYTES: Readonly<Record<FrameKind, number>> = { data: 1, ack: 2, nack: 3, reset: 4 };
const KINDS_BY_BYTE: readonly (FrameKind | undefined)[] = [undefined, 'data', 'ack', 'nack', 'reset'];

interface FrameBase {
  /** The sender's epoch: one per channel session, new after every reset. */
  readonly epoch: number;
  /** The receiver's epoch as the sender last heard it; 0 before it heard any. */
  readonly peerEpoch: number;
  /** Cumulative ack of the receiver's frames in `peerEpoch`; 0 for none. */
  readonly ack: number;
}

/** A numbered payload. */
export interface DataFrame extends FrameBase {
  readonly kind: 'data';
  readonly seq: number;
  readonly payload: Uint8Array;
}

/** "I have every frame up to `ack`." */
export interface AckFrame extends FrameBase {
  readonly kind: 'ack';
}

/**
 * "Frames `ack + 1` to `to` are missing (the first gap): send them again."
 * Naming the end of the gap keeps a resend to the hole, not the whole window.
 */
export interface NackFrame extends FrameBase {
  readonly kind: 'nack';
  readonly to: number;
}

/** "Your session `peerEpoch` is over": the receiver resets when `peerEpoch` is its own. */
export interface ResetFrame extends FrameBase {
  readonly kind: 'reset';
}

export type Frame = DataFrame | AckFrame | NackFrame | ResetFrame;

function writeUint48(buffer: Buffer, offset: number, value: number): void {
  buffer.writeUIntBE(value, offset, 6);
}

/** Encodes a frame; the payload of a data frame is copied once, after the header. */
export function encodeFrame(frame: Frame): Buffer {
  const payloadBytes = frame.kind === 'data' ? frame.payload.byteLength : 0;
  const buffer = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  buffer[0] = FRAME_VERSION;
  buffer[1] = KIND_BYTES[frame.kind];
  writeUint48(buffer, 2, frame.epoch);
  writeUint48(buffer, 8, frame.peerEpoch);
  writeUint48(buffer, 14, frame.kind === 'data' ? frame.seq : frame.kind === 'nack' ? frame.to : 0);
  writeUint48(buffer, 20, frame.ack);
  if (frame.kind === 'data') buffer.set(frame.payload, FRAME_HEADER_BYTES);
  return buffer;
}

/** A decoded frame, or why the bytes are not one (for the caller's counter and throttled log). */
export type DecodeResult = { readonly ok: true; readonly frame: Frame } | { readonly ok: false; readonly reason: string };

function bad(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** Checks and decodes bytes from NATS; never throws. A data frame's payload is a view into `bytes`. */
export function decodeFrame(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength < FRAME_HEADER_BYTES) return bad('shorter than a frame header');
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer[0] !== FRAME_VERSION) return bad(`unknown frame version ${buffer[0]}`);
  const kind = KINDS_BY_BYTE[buffer[1] as number];
  if (kind === undefined) return bad(`unknown frame kind ${buffer[1]}`);
  const epoch = buffer.readUIntBE(2, 6);
  const peerEpoch = buffer.readUIntBE(8, 6);
  const seq = buffer.readUIntBE(14, 6);
  const ack = buffer.readUIntBE(20, 6);
  if (epoch === 0) return bad('sender epoch 0');
  if (ack > 0 && peerEpoch === 0) return bad('an ack without the epoch it acknowledges');
  switch (kind) {
    case 'data':
      if (seq === 0) return bad('data frame with sequence number 0');
      return { ok: true, frame: { kind, epoch, peerEpoch, ack, seq, payload: buffer.subarray(FRAME_HEADER_BYTES) } };
    case 'ack':
    case 'reset':
      if (kind === 'reset' && peerEpoch === 0) return bad('reset frame that names no session');
      if (seq !== 0 || buffer.byteLength !== FRAME_HEADER_BYTES) return bad(`${kind} frame with a sequence number or payload`);
      return { ok: true, frame: { kind, epoch, peerEpoch, ack } };
    case 'nack':
      if (peerEpoch === 0) return bad('nack frame that names no session');
      if (buffer.byteLength !== FRAME_HEADER_BYTES) return bad('nack frame with a payload');
      if (seq <= ack) return bad('nack frame whose last wanted frame is not after its ack');
      return { ok: true, frame: { kind, epoch, peerEpoch, ack, to: seq } };
    default: {
      const unknownKind: never = kind;
      return bad(`unknown frame kind ${String(unknownKind)}`);
    }
  }
}
