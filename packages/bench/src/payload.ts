/**
 * Bench payloads: JSON text with the sequence number and send time at fixed
 * byte offsets, so a receiver reads them without JSON.parse on the hot path.
 *
 *   {"seq":        42,"end":0,"t":1764097200123.456,"pad":"xxxx…"}
 *          ^7        ^17     ^24  ^30             ^47
 *
 * Numbers are padded with leading spaces (JSON allows whitespace there, not leading zeros).
 */
export const SEQ_OFFSET = 7;
export const SEQ_DIGITS = 10;
export const END_OFFSET = 24;
export const TIME_OFFSET = 30;
export const TIME_CHARS = 17;
const PREFIX_SEQ = '{"seq":';
const PREFIX_END = ',"end":';
const PREFIX_TIME = ',"t":';
const PAD_OPEN = ',"pad":"';
const PAD_CLOSE = '"}';
export const HEADER_BYTES = TIME_OFFSET + TIME_CHARS + PAD_OPEN.length + PAD_CLOSE.length;

/**
 * Where the fields sit in a received frame: at the offsets above in a raw
 * payload, shifted when the payload travels wrapped (a Socket.IO event, see
 * socketio.ts). `minLength`: shorter frames carry no payload.
 */
export interface PayloadLayout {
  readonly seq: number;
  readonly end: number;
  readonly time: number;
  readonly minLength: number;
}

export const RAW_LAYOUT: PayloadLayout = Object.freeze({ seq: SEQ_OFFSET, end: END_OFFSET, time: TIME_OFFSET, minLength: HEADER_BYTES });

/** Milliseconds since the epoch with a fraction; comparable across processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(text.length - width) : ' '.repeat(width - text.length) + text;
}

/** A payload of exactly `size` bytes (at least `HEADER_BYTES`). */
export function encodeStamped(seq: number, end: boolean, timeMs: number, size: number): Buffer {
  const time = pad(timeMs.toFixed(3), TIME_CHARS);
  const head = `${PREFIX_SEQ}${pad(String(seq), SEQ_DIGITS)}${PREFIX_END}${end ? 1 : 0}${PREFIX_TIME}${time}${PAD_OPEN}`;
  return Buffer.from(`${head}${'x'.repeat(Math.max(0, size - head.length - PAD_CLOSE.length))}${PAD_CLOSE}`);
}

const SPACE = 32;

/** Reads the sequence number; NaN when the bytes there are not space-padded digits (not a bench payload). */
export function readSeq(data: Buffer, layout: PayloadLayout = RAW_LAYOUT): number {
  if (data.length < layout.minLength) return Number.NaN;
  let value = 0;
  let digits = 0;
  const from = layout.seq;
  for (let i = from; i < from + SEQ_DIGITS; i++) {
    const byte = data[i] as number;
    if (byte === SPACE && digits === 0) continue;
    const digit = byte - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
    digits++;
  }
  return digits === 0 ? Number.NaN : value;
}

export function readEnd(data: Buffer, layout: PayloadLayout = RAW_LAYOUT): boolean {
  return data[layout.end] === 49;
}

export function readTime(data: Buffer, layout: PayloadLayout = RAW_LAYOUT): number {
  return Number(data.toString('latin1', layout.time, layout.time + TIME_CHARS));
}

/** The echo payload: the same bytes every time; echo latency uses a FIFO of send times instead. */
export function echoPayload(size: number): Buffer {
  return encodeStamped(0, false, 0, size);
}
