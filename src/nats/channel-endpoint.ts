/**
 * A link over a reliable NATS channel instead of a Unix socket: the same
 * writes (`encodeBatch`: a JSON line and the raw segments of big payloads,
 * `link-codec.ts`), carried as channel payloads and read back by the same
 * `LinkDecoder`. A write longer than one frame's payload (the NATS server's
 * `max_payload` less the frame header) is split over several frames and
 * joined again by the decoder, so neither direction needs a limit of its own
 * below the link's: a 1 MiB client message crosses a server left at its
 * default 1 MiB `max_payload` in two frames. The channel delivers its frames
 * in order, each once per session, so the pieces of a write arrive whole and
 * in order, or a reset ends the session (the owner then drops the partial
 * write and replays, see `service-link.ts`).
 */
import type { IpcEndpoint } from '../ipc/batch-queue';
import { LinkDecoder, encodeBatch, writeBytes } from '../ipc/link-codec';
import { MAX_RAW_LENGTH, type LineReaderHooks } from '../ipc/socket-endpoint';
import type { ReliableChannel } from './reliable-channel';

/** The bounds of what a continuing endpoint keeps across a reset (the link's own queue bounds). */
export interface RetainLimits {
  /** Most writes kept. */
  readonly maxMessages: number;
  /** Most bytes kept. */
  readonly maxBytes: number;
}

/** One write handed to the endpoint. */
interface Write {
  /** Its number on the stream, from 1, over every session of the stream. */
  readonly n: number;
  readonly bytes: Buffer;
  /** The channel epoch and the sequence number of its last frame, once sent whole (epoch 0: not yet). */
  epoch: number;
  lastSeq: number;
}

/** Where compaction of the write list starts to pay. */
const COMPACT_AT = 64;

/**
 * A `BatchQueue` endpoint writing into a channel. A full window refuses a
 * frame: the rest of the write waits here (the queue writes nothing more
 * until this write's callback) and goes on `drain()`.
 *
 * With `retain` (a service's end of a worker's link), the writes form a
 * stream numbered across the channel's sessions, and a write is kept until
 * the channel acknowledged its last frame: a reset (`suspend()`) then loses
 * nothing. The worker's next hello says how many writes it read whole
 * (`continueFrom()`), and the rest go again, in order, before anything new:
 * exactly once, since the channel delivers in order and the reader drops a
 * partial write at a reset. Past the bounds at a reset the stream cannot be
 * continued, and the caller says so (`sessionLost`). Without `retain` (a
 * worker's end, which replays at its own level) nothing is kept once sent.
 */
export class ChannelEndpoint implements IpcEndpoint {
  /** From `head`: writes sent and not known delivered, then (from `next`) those still to send in this session. */
  private writes: Write[] = [];
  private head = 0;
  private next = 0;
  /** Bytes of `writes[next]` already sent in this session. */
  private offset = 0;
  private keptBytes = 0;
  private numbered = 0;
  private pendingCallback: ((error: Error | null) => void) | undefined;
  private isOpen = true;
  private suspended = false;
  private overflowed = false;

  constructor(
    private channel: ReliableChannel,
    private readonly retain?: RetainLimits,
    /** The number of the stream's last write before this endpoint's first (a stream taken over after a lost session). */
    firstAfter = 0,
  ) {
    this.numbered = firstAfter;
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /** Writes numbered on this stream (the last one's number). */
  get writeCount(): number {
    return this.numbered;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    if (!this.isOpen) {
      queueMicrotask(() => callback(new Error('link channel closed')));
      return false;
    }
    const bytes = writeBytes(encodeBatch(message as readonly unknown[]));
    this.writes.push({ n: ++this.numbered, bytes, epoch: 0, lastSeq: 0 });
    this.keptBytes += bytes.length;
    if (this.pump()) {
      queueMicrotask(() => callback(null));
      return true;
    }
    this.pendingCallback = callback;
    return false;
  }

  /** The channel's window has room again (its owner's `onDrain`): the writes waiting go. */
  drain(): void {
    if (!this.pump()) return;
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    callback?.(null);
  }

  /**
   * The channel's session ended (a retaining endpoint only): nothing goes
   * until `continueFrom()`; what was sent and not acknowledged is kept, to go
   * again. False when it is more than the bounds (the stream cannot go on).
   */
  suspend(): boolean {
    this.suspended = true;
    this.next = this.head;
    this.offset = 0;
    const limits = this.retain;
    if (limits === undefined || this.writes.length - this.head > limits.maxMessages || this.keptBytes > limits.maxBytes) this.overflowed = true;
    return !this.overflowed;
  }

  /** Whether `continueFrom()` may take the stream on (suspended within the bounds). */
  get continuable(): boolean {
    return this.suspended && !this.overflowed;
  }

  /**
   * A new session: the peer read the stream's writes up to `received` whole;
   * the rest go again, first. False (nothing changes) when this endpoint
   * cannot continue from there: it overflowed at the reset, or `received` is
   * not within what it kept.
   */
  continueFrom(received: number): boolean {
    const first = this.head < this.writes.length ? (this.writes[this.head] as Write).n : this.numbered + 1;
    if (!this.suspended || this.overflowed || received < first - 1 || received > this.numbered) return false;
    while (this.head < this.writes.length && (this.writes[this.head] as Write).n <= received) this.forget();
    this.next = this.head;
    this.suspended = false;
    this.drain();
    return true;
  }

  /** The stream goes on over another channel (a suspended one's link was dropped and its worker came back on a new one). */
  rebind(channel: ReliableChannel): void {
    this.channel = channel;
  }

  /** The link ends, or its stream does: the waiting write fails, and nothing more is taken. */
  close(): void {
    this.isOpen = false;
    this.writes = [];
    this.head = this.next = this.offset = this.keptBytes = 0;
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    callback?.(new Error('link channel closed'));
  }

  /**
   * Sends what waits, as far as the window takes it; true when nothing waits.
   * Writes whose last frame the channel acknowledged are forgotten first.
   */
  private pump(): boolean {
    if (this.suspended) return false;
    const channel = this.channel;
    if (this.retain !== undefined) {
      const acknowledged = channel.acknowledgedSeq;
      while (this.head < this.next) {
        const write = this.writes[this.head] as Write;
        if (write.epoch !== channel.epoch || write.lastSeq > acknowledged) break;
        this.forget();
      }
    }
    while (this.next < this.writes.length) {
      const write = this.writes[this.next] as Write;
      if (!this.writeFrames(write.bytes)) return false;
      write.epoch = channel.epoch;
      write.lastSeq = channel.sentSeq;
      this.next++;
      this.offset = 0;
      if (this.retain === undefined) this.forget();
    }
    this.compact();
    return true;
  }

  /** Drops the oldest kept write. */
  private forget(): void {
    this.keptBytes -= (this.writes[this.head] as Write).bytes.length;
    this.head++;
  }

  private compact(): void {
    if (this.head === this.writes.length) {
      this.writes.length = 0;
      this.head = this.next = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.writes.length) {
      this.writes = this.writes.slice(this.head);
      this.next -= this.head;
      this.head = 0;
    }
  }

  /** Sends `bytes` from `offset` in frames of at most the channel's payload; false, keeping the offset, when the window is full. */
  private writeFrames(bytes: Buffer): boolean {
    const most = Math.max(1, this.channel.maxFramePayload());
    while (this.offset < bytes.length) {
      const piece = bytes.subarray(this.offset, Math.min(bytes.length, this.offset + most));
      if (!this.channel.send(piece)) return false;
      this.offset += piece.length;
    }
    return true;
  }
}

/** Reads a channel's payloads as link writes: the same decoder as a socket's, fed frame by frame. */
export class ChannelLineReader {
  private decoder: LinkDecoder;

  constructor(
    private readonly maxLineLength: number,
    private readonly hooks: LineReaderHooks,
  ) {
    this.decoder = new LinkDecoder({ maxLineLength, maxRawLength: MAX_RAW_LENGTH }, hooks);
  }

  /** One payload; false when the stream broke (an overflow or a bad raw length: the caller resets the channel). */
  push(payload: Uint8Array): boolean {
    return this.decoder.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  /** Whether the last payload ended a write (nothing partial held). */
  get idle(): boolean {
    return this.decoder.idle;
  }

  /** The session ended: a partial write is dropped with it, and the next session starts clean. */
  clear(): void {
    this.decoder = new LinkDecoder({ maxLineLength: this.maxLineLength, maxRawLength: MAX_RAW_LENGTH }, this.hooks);
  }
}
