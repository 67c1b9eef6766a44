/**
 * The bytes of one link write, and back: the one place that knows the wire
 * format of the data plane (worker ↔ service links, peer links; the NATS
 * transport carries the same bytes as message payloads).
 *
 * A write is one JSON line — the batch, an array of messages — followed by
 * the raw segments its messages refer to. A message whose payload travels
 * raw has no `data` in the line but `raw: n`, and its n bytes follow the
 * line, in the order of the messages: a binary payload always (no base64),
 * and a text payload of at least `RAW_TEXT_MIN_LENGTH` characters as its
 * UTF-8 bytes (no JSON escaping, and no parsing of a big string on the other
 * side). Small text stays in the line, as before. A line without `raw` is
 * the whole write, so small messages cost what they did.
 *
 * Decoded, a raw payload's `data` is a Buffer; `binary: true` tells binary
 * from text (`decodePayload` turns text into its string where it is needed:
 * a worker passes text bytes to its clients without ever decoding them).
 */

import { isAscii, isUtf8 } from 'node:buffer';

/** Text payloads this long or longer (characters) travel raw. Below it JSON escaping costs less than a segment. */
export const RAW_TEXT_MIN_LENGTH = 16 * 1024;

/**
 * The last big text payload this process decoded (`decodeText`), and the
 * bytes it came as: a handler that sends that very string on (an echo, a
 * relay, a publish of what a client sent) has it written from those bytes
 * rather than encoded to UTF-8 again. One slot, so it holds at most one
 * payload the process had read anyway, until the next big text replaces it.
 */
let lastText: string | undefined;
let lastTextBytes: Buffer | undefined;

/**
 * A raw text payload's string. Bytes that are not valid UTF-8 (a client's
 * text is checked by `ws`; a peer's need not be) decode with replacement
 * characters, which encode back to other bytes: those are not remembered.
 */
export function decodeText(bytes: Buffer): string {
  // ASCII (JSON, base64, logs: most big text) decodes to the same string as latin1, a copy into a one-byte string: on Node 20
  // a tenth of the CPU of UTF-8 decoding for 1 MiB (0.10 against 1.17 ms, the check included). And ASCII is valid UTF-8.
  const ascii = isAscii(bytes);
  const text = bytes.toString(ascii ? 'latin1' : 'utf8');
  if (bytes.length >= RAW_TEXT_MIN_LENGTH && (ascii || isUtf8(bytes))) {
    lastText = text;
    lastTextBytes = bytes;
  }
  return text;
}

/** A big text payload's UTF-8 bytes: those it was decoded from when it is the string `decodeText` gave last. */
function textBytes(text: string): Buffer {
  // Equal strings have equal bytes; a different one of the same length is told apart at its first differing character.
  if (text === lastText && lastTextBytes !== undefined) return lastTextBytes;
  return Buffer.from(text, 'utf8');
}

/** A segment at most this long that lies within one read chunk is copied out rather than viewed, so a small payload a service keeps does not pin a whole socket read. */
const COPY_BELOW = 16 * 1024;

/** What one write puts on the link: the line alone as a string (no raw segment, the common case), or the line's bytes then each segment. */
export type LinkWrite = string | Buffer[];

/** The payload field of a message, if it has one that should travel raw. */
function rawOf(item: unknown): Buffer | string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const data = (item as { readonly data?: unknown }).data;
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string' && data.length >= RAW_TEXT_MIN_LENGTH) return data;
  return undefined;
}

/**
 * Encodes one batch as the bytes of one write. Messages are not modified: a
 * message with a raw payload is copied (shallowly, without its `data`) for
 * the line.
 */
export function encodeBatch(batch: readonly unknown[]): LinkWrite {
  let first = -1;
  for (let i = 0; i < batch.length; i++) {
    if (rawOf(batch[i]) !== undefined) {
      first = i;
      break;
    }
  }
  if (first === -1) return `${JSON.stringify(batch)}\n`;
  const line: unknown[] = batch.slice(0, first);
  const segments: Buffer[] = [];
  for (let i = first; i < batch.length; i++) {
    const item = batch[i];
    const data = rawOf(item);
    if (data === undefined) {
      line.push(item);
      continue;
    }
    const bytes = typeof data === 'string' ? textBytes(data) : data;
    segments.push(bytes);
    // `data: undefined` is left out by JSON.stringify; `raw` says how many bytes follow for it.
    line.push({ ...(item as object), data: undefined, raw: bytes.length });
  }
  return [Buffer.from(`${JSON.stringify(line)}\n`, 'utf8'), ...segments];
}

/** The bytes of a write as one Buffer (for transports that take one payload per write). */
export function writeBytes(write: LinkWrite): Buffer {
  return typeof write === 'string' ? Buffer.from(write, 'utf8') : Buffer.concat(write);
}

export interface LinkDecoderHooks {
  /** One batch (the parsed line, raw payloads in place as Buffers). */
  readonly onValue: (value: unknown) => void;
  /** A line that is not JSON: skipped, the stream goes on. */
  readonly onMalformed: (error: Error) => void;
  /** A line grew past `maxLineLength`: the decoder stops (the peer is broken or hostile). */
  readonly onOverflow: (length: number) => void;
  /** A `raw` that is not a length, or segments past `maxRawLength`: the decoder stops. */
  readonly onBadRaw: (reason: string) => void;
}

export interface LinkDecoderLimits {
  /** Longest line, in bytes. */
  readonly maxLineLength: number;
  /** Most raw bytes one write may carry, all its segments together. */
  readonly maxRawLength: number;
}

/** A message of a parsed line that waits for its raw payload. */
interface Pending {
  readonly message: Record<string, unknown>;
  readonly length: number;
}

/**
 * Decodes a byte stream of link writes. Push chunks as they come; a line or
 * a segment split anywhere waits for the rest. A segment split over chunks
 * is copied into one buffer of its length, allocated when its first bytes
 * arrive (a claim alone allocates nothing; one that is never filled holds at
 * most `maxRawLength` until the link is cut). Once it reports an overflow or
 * a bad length it is broken and ignores the rest.
 */
export class LinkDecoder {
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  /** The batch whose segments are being read, and its messages still waiting. */
  private batch: unknown = undefined;
  private pending: Pending[] = [];
  private pendingIndex = 0;
  /** The segment being gathered (allocated at its length once its first bytes arrive, when they do not hold it whole), and how much of it is filled. */
  private segment: Buffer | undefined = undefined;
  private segmentLength = 0;
  /** Whether the chunk being pushed is the caller's to reuse once `push` returns (a socket's read buffer): nothing is kept as a view of it. */
  private transient = false;
  private brokenState = false;

  constructor(
    private readonly limits: LinkDecoderLimits,
    private readonly hooks: LinkDecoderHooks,
  ) {}

  get broken(): boolean {
    return this.brokenState;
  }

  /**
   * Takes one chunk; false once the stream is broken. With `transient` the
   * chunk is a buffer its caller reuses once this returns (a socket's read
   * buffer, `readInto` in socket-endpoint.ts): what is kept is copied out.
   */
  push(chunk: Buffer, transient = false): boolean {
    this.transient = transient;
    let offset = 0;
    while (offset < chunk.length && !this.brokenState) {
      offset = this.pendingIndex < this.pending.length ? this.readSegment(chunk, offset) : this.readLine(chunk, offset);
    }
    return !this.brokenState;
  }

  /**
   * The unfilled rest of the segment being gathered, when at least `min`
   * bytes are missing: a socket may read straight into it, and `push` of
   * bytes already in place copies nothing (`readInto` in socket-endpoint.ts).
   */
  readTarget(min: number): Buffer | undefined {
    const segment = this.segment;
    if (segment === undefined || segment.length - this.segmentLength < min) return undefined;
    return segment.subarray(this.segmentLength);
  }

  /** Whether the stream ended between writes (nothing partial held). */
  get idle(): boolean {
    return this.lineLength === 0 && this.pendingIndex >= this.pending.length;
  }

  /** Stops decoding; what is held is dropped. */
  stop(): void {
    this.brokenState = true;
    this.lineParts = [];
    this.segment = undefined;
    this.pending = [];
    this.batch = undefined;
  }

  private readLine(chunk: Buffer, offset: number): number {
    const end = chunk.indexOf(0x0a, offset);
    const available = (end === -1 ? chunk.length : end) - offset;
    if (this.lineLength + available > this.limits.maxLineLength) {
      this.hooks.onOverflow(this.lineLength + available);
      this.stop();
      return chunk.length;
    }
    if (end === -1) {
      this.lineParts.push(this.transient ? Buffer.from(chunk.subarray(offset)) : chunk.subarray(offset));
      this.lineLength += available;
      return chunk.length;
    }
    let line: Buffer;
    if (this.lineLength === 0) {
      // Parsed before push returns: a view even of a transient chunk.
      line = chunk.subarray(offset, end);
    } else {
      this.lineParts.push(chunk.subarray(offset, end));
      line = Buffer.concat(this.lineParts, this.lineLength + available);
      this.lineParts = [];
      this.lineLength = 0;
    }
    this.parse(line);
    return end + 1;
  }

  private parse(line: Buffer): void {
    if (line.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch (error) {
      this.hooks.onMalformed(error as Error);
      return;
    }
    if (!Array.isArray(value)) {
      this.hooks.onValue(value);
      return;
    }
    let total = 0;
    let pending: Pending[] | undefined;
    for (const item of value) {
      if (typeof item !== 'object' || item === null || !('raw' in item)) continue;
      const length: unknown = (item as { readonly raw: unknown }).raw;
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
        this.hooks.onBadRaw(`raw length ${JSON.stringify(length)} is not a byte count`);
        this.stop();
        return;
      }
      total += length;
      if (total > this.limits.maxRawLength) {
        this.hooks.onBadRaw(`raw segments of ${total} bytes or more, past the bound of ${this.limits.maxRawLength}`);
        this.stop();
        return;
      }
      (pending ??= []).push({ message: item as Record<string, unknown>, length });
    }
    if (pending === undefined) {
      this.hooks.onValue(value);
      return;
    }
    this.batch = value;
    this.pending = pending;
    this.pendingIndex = 0;
    // Zero-length segments complete at once; the rest wait for their bytes.
    this.completeEmpty();
  }

  private readSegment(chunk: Buffer, offset: number): number {
    const current = this.pending[this.pendingIndex] as Pending;
    const available = chunk.length - offset;
    if (this.segment === undefined) {
      if (available >= current.length) {
        // The whole segment is in this chunk: a view of it, unless it is small (so it does not pin a whole read) or the chunk is reused.
        const end = offset + current.length;
        const view = chunk.subarray(offset, end);
        this.place(current, this.transient || current.length < COPY_BELOW ? Buffer.from(view) : view);
        this.completeEmpty();
        return end;
      }
      // Its first bytes: the rest are read straight into one buffer of its length (bounded by maxRawLength; no gather copy at the end).
      this.segment = Buffer.allocUnsafe(current.length);
    }
    const taken = Math.min(available, current.length - this.segmentLength);
    // Bytes a socket read into `readTarget()` are already where they belong.
    const inPlace = chunk.buffer === this.segment.buffer && chunk.byteOffset + offset === this.segment.byteOffset + this.segmentLength;
    if (!inPlace) chunk.copy(this.segment, this.segmentLength, offset, offset + taken);
    this.segmentLength += taken;
    if (this.segmentLength < current.length) return chunk.length;
    const bytes = this.segment;
    this.segment = undefined;
    this.segmentLength = 0;
    this.place(current, bytes);
    this.completeEmpty();
    return offset + taken;
  }

  private place(pending: Pending, bytes: Buffer): void {
    delete pending.message.raw;
    pending.message.data = bytes;
    this.pendingIndex++;
  }

  /** Places the zero-length segments next in line, and hands the batch on once none waits. */
  private completeEmpty(): void {
    while (this.pendingIndex < this.pending.length && (this.pending[this.pendingIndex] as Pending).length === 0) {
      this.place(this.pending[this.pendingIndex] as Pending, Buffer.alloc(0));
    }
    if (this.pendingIndex < this.pending.length) return;
    const batch = this.batch;
    this.batch = undefined;
    this.pending = [];
    this.pendingIndex = 0;
    this.hooks.onValue(batch);
  }
}

/**
 * Decodes writes held whole in `buffer` (one NATS message, say): every batch
 * goes to `hooks.onValue`. False when the bytes are broken, or end inside a
 * line or a segment (reported as a bad raw length).
 */
export function decodeWrites(buffer: Buffer, limits: LinkDecoderLimits, hooks: LinkDecoderHooks): boolean {
  const decoder = new LinkDecoder(limits, hooks);
  if (!decoder.push(buffer)) return false;
  if (decoder.idle) return true;
  hooks.onBadRaw('the bytes end inside a line or a raw segment');
  return false;
}
