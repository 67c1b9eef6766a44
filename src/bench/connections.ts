/**
 * Opening many client connections: one socket per source address slot, at a
 * fixed rate or as fast as a bounded number of pending handshakes allows,
 * with every failure reduced to a short reason for the report.
 */
import WebSocket from 'ws';
import type { BenchOptions } from './options';
import type { Counts } from './result';
import type { Shard } from './source-address';
import { sourceAddressFor } from './source-address';

/** Handshakes one process keeps pending when no rate is set; past this the server's accept queue only grows. */
export const MAX_PENDING_HANDSHAKES = 256;

export class ConnectError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return code;
  const message = (error as Error).message ?? String(error);
  return message.includes('Opening handshake has timed out') ? 'timeout' : message;
}

/** Opens one connection; rejects with a `ConnectError` whose reason is a code, `HTTP <status>` or `timeout`. */
export function openSocket(url: string, localAddress: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const fail = (reason: string): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      reject(new ConnectError(reason));
    };
    socket.once('open', () => {
      socket.removeAllListeners();
      resolve(socket);
    });
    socket.once('unexpected-response', (_request, response) => fail(`HTTP ${response.statusCode ?? 0}`));
    socket.once('error', (error) => fail(reasonOf(error)));
    socket.once('close', (code) => fail(`closed ${code} during handshake`));
  });
}

export interface OpenManyResult {
  readonly sockets: WebSocket[];
  readonly errors: Counts;
  /** From the first attempt to the last settled one. */
  readonly elapsedMs: number;
}

/**
 * Opens `shard.count` connections. `rate` (per second, for this shard) paces
 * attempts; 0 means as fast as `MAX_PENDING_HANDSHAKES` pending at once allows.
 */
export async function openMany(options: BenchOptions, shard: Shard, rate: number, onOpen: (opened: number) => void = () => {}): Promise<OpenManyResult> {
  const sockets: WebSocket[] = [];
  const errors: Counts = {};
  const timeoutMs = options.connectTimeout * 1000;
  const started = performance.now();
  let next = 0;
  let pending = 0;
  await new Promise<void>((resolve) => {
    if (shard.count === 0) return resolve();
    let settled = 0;
    let timer: NodeJS.Timeout | undefined;
    const attempt = (): void => {
      const index = shard.first + next++;
      pending++;
      openSocket(options.url, sourceAddressFor(index, options.connections, options.perAddress, options.sourceBase), timeoutMs).then(
        (socket) => {
          sockets.push(socket);
          onOpen(sockets.length);
        },
        (error: unknown) => {
          const reason = error instanceof ConnectError ? error.reason : reasonOf(error);
          errors[reason] = (errors[reason] ?? 0) + 1;
        },
      ).finally(() => {
        pending--;
        settled++;
        if (settled === shard.count) {
          clearInterval(timer);
          resolve();
        } else if (rate === 0) {
          pump();
        }
      });
    };
    const pump = (): void => {
      while (next < shard.count && pending < MAX_PENDING_HANDSHAKES) attempt();
    };
    if (rate === 0) return pump();
    // Paced: every tick, start the attempts that are due by now.
    timer = setInterval(() => {
      const due = Math.min(shard.count, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (next < due) attempt();
    }, 1);
  });
  return { sockets, errors, elapsedMs: performance.now() - started };
}

/** Closes every socket with 1000 and waits (at most `graceMs`) for the handshakes, then cuts the rest. */
export async function closeAll(sockets: readonly WebSocket[], graceMs = 2000): Promise<void> {
  const open = sockets.filter((socket) => socket.readyState !== WebSocket.CLOSED);
  let timer: NodeJS.Timeout | undefined;
  const done = Promise.all(open.map((socket) => new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    else socket.terminate();
  })));
  await Promise.race([done, new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); })]);
  clearTimeout(timer);
  for (const socket of open) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
}
