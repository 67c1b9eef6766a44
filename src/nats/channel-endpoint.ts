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

/**
 * A `BatchQueue` endpoint writing into a channel. A full window refuses a
 * frame: the rest of the line waits here (one line at most, since the queue
 * writes nothing more until this write's callback) and goes on `drain()`.
 */
export class ChannelEndpoint implements IpcEndpoint {
  private pending: Buffer | undefined;
  private pendingCallback: ((error: Error | null) => void) | undefined;
  private isOpen = true;

  constructor(private readonly channel: ReliableChannel) {}

  get connected(): boolean {
    return this.isOpen;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    if (!this.isOpen) {
      queueMicrotask(() => callback(new Error('link channel closed')));
      return false;
    }
    const bytes = writeBytes(encodeBatch(message as readonly unknown[]));
    if (this.write(bytes)) {
      queueMicrotask(() => callback(null));
      return true;
    }
    this.pendingCallback = callback;
    return false;
  }

  /** The channel's window has room again (its owner's `onDrain`): the rest of the waiting line goes. */
  drain(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    if (!this.write(pending)) return;
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    callback?.(null);
  }

  /** The session ended (a reset) or the link ends: the waiting line fails its write, and nothing more is taken. */
  close(): void {
    this.isOpen = false;
    this.pending = undefined;
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    callback?.(new Error('link channel closed'));
  }

  /** Sends `bytes` in frames of at most the channel's payload; false, keeping the rest in `pending`, when the window is full. */
  private write(bytes: Buffer): boolean {
    const most = Math.max(1, this.channel.maxFramePayload());
    let offset = 0;
    while (offset < bytes.length) {
      const piece = bytes.subarray(offset, Math.min(bytes.length, offset + most));
      if (!this.channel.send(piece)) {
        this.pending = bytes.subarray(offset);
        return false;
      }
      offset += piece.length;
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

  /** The session ended: a partial write is dropped with it, and the next session starts clean. */
  clear(): void {
    this.decoder = new LinkDecoder({ maxLineLength: this.maxLineLength, maxRawLength: MAX_RAW_LENGTH }, this.hooks);
  }
}
