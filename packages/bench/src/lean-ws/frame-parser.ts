/**
 * Parses the frames a WebSocket server sends (RFC 6455 §5.2) straight from
 * the bytes read off the socket. A data message that arrived whole is handed
 * on as a view into those bytes: no copy, no string, no JSON. Only what has to
 * outlive one read is copied: the start of a frame split across reads, and
 * the fragments of a fragmented message.
 *
 * Errors carry the `code` and message the `ws` package gives the same
 * violation, so the bench's error counts read the same whichever client ran.
 */
import { isUtf8 } from 'node:buffer';
import { CLOSE_INVALID_DATA, CLOSE_NO_STATUS, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, isValidCloseCode, MAX_CONTROL_PAYLOAD, Opcode } from './wire';

/** The most a message may hold; the `ws` client's default, so nothing the bench accepted before is refused now. */
export const DEFAULT_MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

/** A 64-bit length whose high word exceeds this does not fit a JavaScript number exactly (2^53 - 1). */
const MAX_HIGH_WORD = 2 ** 21 - 1;

/** A frame the client must refuse; `closeCode` is the status the client sends back before it gives up. */
export class FrameError extends Error {
  override readonly name = 'FrameError';

  constructor(message: string, readonly code: string, readonly closeCode: number) {
    super(message);
  }
}

function protocolError(message: string, code: string): FrameError {
  return new FrameError(`Invalid WebSocket frame: ${message}`, code, CLOSE_PROTOCOL_ERROR);
}

/** Where parsed frames go. Buffers handed over are valid only during the call (they may view a reused read buffer). */
export interface FrameSink {
  /** A complete text or binary message (reassembled when it came in fragments). */
  message(data: Buffer, binary: boolean): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  /** The server's close frame: its status code (1005 when it carried none) and reason. Nothing is parsed after it. */
  close(code: number, reason: Buffer): void;
  /** The server broke the protocol. Nothing is parsed after it. */
  error(error: FrameError): void;
}

export class FrameParser {
  /** The start of a frame split across reads, sized to what completes its next part (header or whole frame). */
  private pending: Buffer | undefined;
  private pendingFilled = 0;
  /** The opcode of the fragmented message being reassembled; 0 when none is. */
  private fragmentedOpcode = 0;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private stopped = false;

  constructor(private readonly sink: FrameSink, private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** True once a close frame or an error ended parsing, or `stop()` was called. */
  get done(): boolean {
    return this.stopped;
  }

  /** Ignores every byte from now on (the connection was cut). */
  stop(): void {
    this.stopped = true;
    this.pending = undefined;
    this.fragments = [];
  }

  /** Parses `chunk[start, end)`. The chunk is only read during this call: it may be a read buffer that is reused. */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let offset = start;
    while (this.pending !== undefined) {
      const pending = this.pending;
      const taken = Math.min(pending.length - this.pendingFilled, end - offset);
      chunk.copy(pending, this.pendingFilled, offset, offset + taken);
      this.pendingFilled += taken;
      offset += taken;
      if (this.pendingFilled < pending.length) return;
      // Complete now: either a whole frame, or a header that says how much more the frame needs (parse stashes again).
      this.pending = undefined;
      this.parse(pending, 0, pending.length);
    }
    if (offset < end && !this.stopped) this.parse(chunk, offset, end);
  }

  private parse(buffer: Buffer, start: number, end: number): void {
    let offset = start;
    while (offset < end && !this.stopped) {
      const available = end - offset;
      if (available < 2) return this.stash(buffer, offset, end, 2);
      const first = buffer[offset] as number;
      const second = buffer[offset + 1] as number;
      const headerError = this.checkHeader(first, second);
      if (headerError !== undefined) return this.fail(headerError);
      const opcode = first & 0x0f;
      let length = second & 0x7f;
      let headerBytes = 2;
      if (length === 126) {
        headerBytes = 4;
        if (available < headerBytes) return this.stash(buffer, offset, end, headerBytes);
        length = buffer.readUInt16BE(offset + 2);
      } else if (length === 127) {
        headerBytes = 10;
        if (available < headerBytes) return this.stash(buffer, offset, end, headerBytes);
        const high = buffer.readUInt32BE(offset + 2);
        if (high > MAX_HIGH_WORD) {
          return this.fail(new FrameError('Unsupported WebSocket frame: payload length > 2^53 - 1', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', CLOSE_TOO_BIG));
        }
        length = high * 2 ** 32 + buffer.readUInt32BE(offset + 6);
      }
      if (opcode < Opcode.CLOSE && this.fragmentBytes + length > this.maxMessageBytes) {
        return this.fail(new FrameError('Max payload size exceeded', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CLOSE_TOO_BIG));
      }
      const frameEnd = offset + headerBytes + length;
      if (frameEnd > end) return this.stash(buffer, offset, end, headerBytes + length);
      this.frame((first & 0x80) !== 0, opcode, buffer.subarray(offset + headerBytes, frameEnd));
      offset = frameEnd;
    }
  }

  /** Copies `buffer[start, end)` aside until `needed` bytes of this frame are there. */
  private stash(buffer: Buffer, start: number, end: number, needed: number): void {
    const pending = Buffer.allocUnsafe(needed);
    this.pendingFilled = buffer.copy(pending, 0, start, end);
    this.pending = pending;
  }

  /** The checks the first two bytes allow, in the order `ws` makes them. */
  private checkHeader(first: number, second: number): FrameError | undefined {
    if ((first & 0x30) !== 0) return protocolError('RSV2 and RSV3 must be clear', 'WS_ERR_UNEXPECTED_RSV_2_3');
    // No extension is negotiated, so RSV1 (permessage-deflate) must be clear too.
    if ((first & 0x40) !== 0) return protocolError('RSV1 must be clear', 'WS_ERR_UNEXPECTED_RSV_1');
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if (opcode === Opcode.CONTINUATION) {
      if (this.fragmentedOpcode === 0) return protocolError('invalid opcode 0', 'WS_ERR_INVALID_OPCODE');
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.fragmentedOpcode !== 0) return protocolError(`invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
    } else if (opcode === Opcode.CLOSE || opcode === Opcode.PING || opcode === Opcode.PONG) {
      if (!fin) return protocolError('FIN must be set', 'WS_ERR_EXPECTED_FIN');
      const length = second & 0x7f;
      if (length > MAX_CONTROL_PAYLOAD || (opcode === Opcode.CLOSE && length === 1)) {
        return protocolError(`invalid payload length ${length}`, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
      }
    } else {
      return protocolError(`invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
    }
    if ((second & 0x80) !== 0) return protocolError('MASK must be clear', 'WS_ERR_UNEXPECTED_MASK');
    return undefined;
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.TEXT:
      case Opcode.BINARY:
        if (fin) return this.deliver(payload, opcode === Opcode.BINARY);
        this.fragmentedOpcode = opcode;
        return this.addFragment(payload);
      case Opcode.CONTINUATION: {
        this.addFragment(payload);
        if (!fin) return;
        const binary = this.fragmentedOpcode === Opcode.BINARY;
        const message = Buffer.concat(this.fragments, this.fragmentBytes);
        this.fragmentedOpcode = 0;
        this.fragments = [];
        this.fragmentBytes = 0;
        return this.deliver(message, binary);
      }
      case Opcode.PING:
        return this.sink.ping(payload);
      case Opcode.PONG:
        return this.sink.pong(payload);
      case Opcode.CLOSE:
        return this.closeFrame(payload);
    }
  }

  private addFragment(payload: Buffer): void {
    // A copy: the payload may sit in a read buffer that the next read overwrites.
    this.fragments.push(Buffer.from(payload));
    this.fragmentBytes += payload.length;
  }

  private deliver(data: Buffer, binary: boolean): void {
    if (!binary && !isUtf8(data)) return this.fail(new FrameError('Invalid WebSocket frame: invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8', CLOSE_INVALID_DATA));
    this.sink.message(data, binary);
  }

  private closeFrame(payload: Buffer): void {
    if (payload.length === 0) {
      this.stop();
      return this.sink.close(CLOSE_NO_STATUS, Buffer.alloc(0));
    }
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.fail(protocolError(`invalid status code ${code}`, 'WS_ERR_INVALID_CLOSE_CODE'));
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) return this.fail(new FrameError('Invalid WebSocket frame: invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8', CLOSE_INVALID_DATA));
    this.stop();
    this.sink.close(code, Buffer.from(reason));
  }

  private fail(error: FrameError): void {
    this.stop();
    this.sink.error(error);
  }
}
