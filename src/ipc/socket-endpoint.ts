/**
 * The data plane's wire over a stream socket (a Unix socket between a worker
 * and a service, or two instances of a service): each batch is one write, a
 * JSON line and the raw segments of its big payloads (`link-codec.ts`).
 */
import { rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { MAX_MESSAGE_LENGTH } from '../protocol';
import type { IpcEndpoint } from './batch-queue';
import { LinkDecoder, encodeBatch, type LinkDecoderHooks } from './link-codec';

/**
 * Listens at the Unix socket path `endpoint`, first removing a stale socket
 * file a crashed process may have left there; rejects with the listen error.
 */
export function listenAt(server: Server, endpoint: string): Promise<void> {
  rmSync(endpoint, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(endpoint, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The longest line a link reader accepts, in bytes: just under V8's string
 * limit (2^29 - 24), so that no legitimate batch is refused and a broken peer
 * cuts its link instead of crashing the reader. Writers keep their lines far
 * shorter (`BatchQueue`'s `maxBatchBytes`; big payloads travel as raw
 * segments beside the line, `link-codec.ts`).
 */
export const MAX_LINE_LENGTH = 2 ** 29 - 1024;

/**
 * The most raw bytes one write may carry by default: a service's largest
 * message (`MAX_MESSAGE_LENGTH` characters, up to 3 UTF-8 bytes each) —
 * batches of several messages stay far below (`BatchQueue`'s
 * `maxBatchBytes`). Readers that know a tighter bound pass it.
 */
export const MAX_RAW_LENGTH = 3 * MAX_MESSAGE_LENGTH;

/** A `BatchQueue` endpoint over a socket: one write per batch (its line, then its raw segments). */
export class SocketEndpoint implements IpcEndpoint {
  constructor(private readonly socket: Socket) {}

  get connected(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    const write = encodeBatch(message as readonly unknown[]);
    const done = (error?: Error | null): void => callback(error ?? null);
    if (typeof write === 'string') return this.socket.write(write, done);
    // One writev for the line and its segments: the segments are written as they are, not copied.
    this.socket.cork();
    const last = write.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(write[i] as Buffer);
    const accepted = this.socket.write(write[last] as Buffer, done);
    this.socket.uncork();
    return accepted;
  }
}

export type LineReaderHooks = LinkDecoderHooks;

/**
 * Reads a socket as link writes (`LinkDecoder`): a partial line or segment
 * waits for the rest, up to `maxLineLength` bytes a line and `maxRawLength`
 * raw bytes a write. Past either, or on a bad raw length, the hook reports it
 * and the socket is destroyed (the peer is broken or hostile). Stops reading
 * once a handler destroyed the socket.
 */
export function readLines(socket: Socket, maxLineLength: number, hooks: LineReaderHooks, maxRawLength = MAX_RAW_LENGTH): void {
  const decoder = new LinkDecoder(
    { maxLineLength, maxRawLength },
    {
      onValue: (value) => {
        if (socket.destroyed) {
          decoder.stop();
          return;
        }
        hooks.onValue(value);
      },
      onMalformed: hooks.onMalformed,
      onOverflow: (length) => {
        hooks.onOverflow(length);
        socket.destroy();
      },
      onBadRaw: (reason) => {
        hooks.onBadRaw(reason);
        socket.destroy();
      },
    },
  );
  socket.on('data', (chunk: Buffer) => {
    if (!decoder.broken) decoder.push(chunk);
  });
}
