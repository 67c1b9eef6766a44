/**
 * The data plane's wire: newline-delimited JSON over a stream socket (a Unix
 * socket between a worker and a service). Each batch is one line;
 * `JSON.stringify` never emits a raw newline, so a newline always ends one.
 */
import { rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { IpcEndpoint } from './batch-queue';

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
 * The longest line a link reader accepts, in characters: just under V8's
 * string limit (2^29 - 24), so that no legitimate batch is refused and a
 * broken peer cuts its link instead of crashing the reader. Writers keep
 * their lines far shorter (`BatchQueue`'s `maxBatchBytes`).
 */
export const MAX_LINE_LENGTH = 2 ** 29 - 1024;

/** One batch as the link's wire carries it: the line a socket write holds, and the bytes a NATS channel carries (`channel-endpoint.ts`). */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/** A `BatchQueue` endpoint over a socket: one line per batch. */
export class SocketEndpoint implements IpcEndpoint {
  constructor(private readonly socket: Socket) {}

  get connected(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    return this.socket.write(encodeLine(message), (error?: Error | null) => callback(error ?? null));
  }
}

export interface LineReaderHooks {
  /** One parsed line. */
  readonly onValue: (value: unknown) => void;
  /** A line that is not JSON. */
  readonly onMalformed: (error: Error) => void;
  /** A line grew past `maxLineLength`: the socket is destroyed (the peer is broken or hostile). */
  readonly onOverflow: (length: number) => void;
}

/**
 * Splits text chunks into newline-delimited JSON values, however the chunks
 * fall. A partial line waits for the rest, up to `maxLineLength` characters;
 * a longer line overflows, whole in one chunk, a chunk's tail, or completed
 * by a later chunk. `push` returns false once it overflowed (the caller cuts
 * its connection), or when `stopped()` turns true during a handler.
 */
export class LineReader {
  private partial = '';

  constructor(
    private readonly maxLineLength: number,
    private readonly hooks: LineReaderHooks,
    private readonly stopped: () => boolean = () => false,
  ) {}

  push(chunk: string): boolean {
    let end = chunk.indexOf('\n');
    if (end === -1) {
      // Checked before joining: past V8's string limit the join itself would throw.
      if (this.partial.length + chunk.length > this.maxLineLength) return this.overflow(this.partial.length + chunk.length);
      this.partial += chunk;
      return true;
    }
    let start = 0;
    if (this.partial.length > 0) {
      if (this.partial.length + end > this.maxLineLength) return this.overflow(this.partial.length + end);
      const line = this.partial + chunk.slice(0, end);
      this.partial = '';
      this.parse(line);
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    while (end !== -1) {
      // Stops reading once a handler closed the connection.
      if (this.stopped()) return false;
      if (end - start > this.maxLineLength) return this.overflow(end - start);
      this.parse(start === 0 && end === chunk.length - 1 ? chunk.slice(0, end) : chunk.slice(start, end));
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      this.partial = chunk.slice(start);
      if (this.partial.length > this.maxLineLength) return this.overflow(this.partial.length);
    }
    return true;
  }

  /** Forgets a partial line (its connection's session ended). */
  clear(): void {
    this.partial = '';
  }

  private parse(line: string): void {
    if (line.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.hooks.onMalformed(error as Error);
      return;
    }
    this.hooks.onValue(value);
  }

  private overflow(length: number): false {
    this.hooks.onOverflow(length);
    this.partial = '';
    return false;
  }
}

/**
 * Reads a socket as newline-delimited JSON (`LineReader`); a line past
 * `maxLineLength` destroys the socket.
 */
export function readLines(socket: Socket, maxLineLength: number, hooks: LineReaderHooks): void {
  socket.setEncoding('utf8');
  const reader = new LineReader(maxLineLength, hooks, () => socket.destroyed);
  socket.on('data', (chunk: string) => {
    if (!reader.push(chunk) && !socket.destroyed) socket.destroy();
  });
}
