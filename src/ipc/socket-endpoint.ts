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

/** A `BatchQueue` endpoint over a socket: one line per batch. */
export class SocketEndpoint implements IpcEndpoint {
  constructor(private readonly socket: Socket) {}

  get connected(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    return this.socket.write(`${JSON.stringify(message)}\n`, (error?: Error | null) => callback(error ?? null));
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
 * Reads a socket as newline-delimited JSON. A partial line waits for the
 * rest, up to `maxLineLength` characters. A line longer than that overflows
 * however the chunks fall: whole in one chunk, a chunk's tail, or completed by
 * a later chunk.
 */
export function readLines(socket: Socket, maxLineLength: number, hooks: LineReaderHooks): void {
  let partial = '';
  socket.setEncoding('utf8');
  const parse = (line: string): void => {
    if (line.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      hooks.onMalformed(error as Error);
      return;
    }
    hooks.onValue(value);
  };
  const overflow = (length: number): void => {
    hooks.onOverflow(length);
    partial = '';
    socket.destroy();
  };
  socket.on('data', (chunk: string) => {
    let end = chunk.indexOf('\n');
    if (end === -1) {
      // Checked before joining: past V8's string limit the join itself would throw.
      if (partial.length + chunk.length > maxLineLength) return overflow(partial.length + chunk.length);
      partial += chunk;
      return;
    }
    let start = 0;
    if (partial.length > 0) {
      if (partial.length + end > maxLineLength) return overflow(partial.length + end);
      const line = partial + chunk.slice(0, end);
      partial = '';
      parse(line);
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    while (end !== -1) {
      // Stops reading once a handler destroyed the socket.
      if (socket.destroyed) return;
      if (end - start > maxLineLength) return overflow(end - start);
      parse(start === 0 && end === chunk.length - 1 ? chunk.slice(0, end) : chunk.slice(start, end));
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      partial = chunk.slice(start);
      if (partial.length > maxLineLength) overflow(partial.length);
    }
  });
}
