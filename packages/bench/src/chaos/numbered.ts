/**
 * The numbered echo protocol that `--chaos` and the soak speak. The client
 * sends bench payloads (payload.ts: sequence number and send time at fixed
 * offsets); the service sends each back unchanged, or — when the server
 * redelivered it to a new instance (`info.redelivered` in `onMessage`) —
 * wrapped as `{"redelivered":true,"echo":<the payload>}`, so a duplicate can be
 * told from a loss of order. A service that never marks is still measured: its
 * duplicates count as unmarked. The wrapper has a fixed length, so the fields
 * stay at fixed offsets and a reply is read without JSON.parse.
 */
import { RAW_LAYOUT, type PayloadLayout } from '../payload';

export const REDELIVERED_PREFIX = '{"redelivered":true,"echo":';
const PREFIX_BYTES = Buffer.from(REDELIVERED_PREFIX, 'latin1');
const SHIFT = PREFIX_BYTES.length;

/** Where the fields sit in a marked reply. */
export const MARKED_LAYOUT: PayloadLayout = Object.freeze({
  seq: RAW_LAYOUT.seq + SHIFT,
  end: RAW_LAYOUT.end + SHIFT,
  time: RAW_LAYOUT.time + SHIFT,
  minLength: RAW_LAYOUT.minLength + SHIFT + 1,
});

/** The reply a service sends for a redelivered message `text`. */
export function markRedelivered(text: string): string {
  return `${REDELIVERED_PREFIX}${text}}`;
}

/** Whether `data` is a marked reply. */
export function isMarked(data: Buffer): boolean {
  return data.length >= MARKED_LAYOUT.minLength && data.compare(PREFIX_BYTES, 0, SHIFT, 0, SHIFT) === 0;
}
