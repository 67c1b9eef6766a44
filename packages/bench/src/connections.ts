/**
 * Opening many client connections: one socket per source address slot, at a
 * fixed rate or as fast as a bounded number of pending handshakes allows,
 * with every failure reduced to a short reason for the report.
 */
import WebSocket from 'ws';
import { LeanSocket, ReadyState } from './lean-ws/lean-socket';
import type { BenchOptions } from './options';
import type { Counts } from './result';
import { handshakeStep, isEvent, isPing, PONG, socketIoUrl, strayReason, type HandshakeState, type Protocol } from './socketio';
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

/** The URL the generator connects to: `--url` as given, or for Socket.IO its WebSocket endpoint. */
export function targetUrl(options: Pick<BenchOptions, 'url' | 'protocol'>): string {
  return options.protocol === 'socketio' ? socketIoUrl(options.url) : options.url;
}

/**
 * What scenarios do with a connection, whichever client holds it: the lean
 * client (lean-ws/) for raw WebSocket over ws://, the `ws` package otherwise.
 * Both emit 'close' once with a status code and 'error' for protocol errors.
 */
export interface BenchSocket {
  readonly readyState: number;
  send(data: Buffer | string, options?: { binary?: boolean }): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): this;
  once(event: 'close', listener: (code: number) => void): this;
}

/**
 * `SWITCHYARD_BENCH_CLIENT=ws` (the suite's `--ws-client`): the `ws` client for
 * ws:// too, so a plain run loads a target with the same client as a wss://
 * one. The two clients write differently (the `ws` client one write per
 * message, the lean one a write per batch), and that changes what a server
 * spends per message.
 */
export const BENCH_CLIENT_ENV = 'SWITCHYARD_BENCH_CLIENT';

/**
 * Raw WebSocket over ws:// goes through the lean client, so the generator
 * spends little per frame; Socket.IO (its handshake, text framing) and wss://
 * keep the `ws` client.
 */
function usesLeanClient(url: string, protocol: Protocol): boolean {
  return protocol === 'ws' && url.startsWith('ws:') && process.env[BENCH_CLIENT_ENV] !== 'ws';
}

/**
 * Opens one connection; rejects with a `ConnectError` whose reason is a code,
 * `HTTP <status>` or `timeout`. With `protocol` 'socketio' it resolves only
 * once the Socket.IO connect handshake is done (within `timeoutMs` of the
 * WebSocket opening).
 */
export function openSocket(url: string, localAddress: string, timeoutMs: number, protocol: Protocol = 'ws'): Promise<BenchSocket> {
  if (!usesLeanClient(url, protocol)) return openWsSocket(url, localAddress, timeoutMs, protocol);
  return LeanSocket.open(url, localAddress, timeoutMs).catch((error: unknown) => {
    throw new ConnectError(reasonOf(error));
  });
}

function openWsSocket(url: string, localAddress: string, timeoutMs: number, protocol: Protocol): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const fail = (reason: string): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      reject(new ConnectError(reason));
    };
    socket.once('open', () => {
      if (protocol === 'ws') {
        socket.removeAllListeners();
        resolve(socket);
        return;
      }
      let state: HandshakeState = 'await-open';
      timer = setTimeout(() => fail('timeout'), timeoutMs);
      socket.on('message', (data: Buffer) => {
        const step = handshakeStep(state, data);
        if (step.error !== undefined) return fail(step.error);
        if (step.send !== undefined) socket.send(step.send);
        state = step.state;
        if (state !== 'connected') return;
        clearTimeout(timer);
        socket.removeAllListeners();
        resolve(socket);
      });
    });
    socket.once('unexpected-response', (_request, response) => fail(`HTTP ${response.statusCode ?? 0}`));
    socket.once('error', (error) => fail(reasonOf(error)));
    socket.once('close', (code) => fail(`closed ${code} during handshake`));
  });
}

/**
 * Calls `onPayload` with every bench frame of `socket`. Raw WebSocket: every
 * message, no wrapper; from the lean client a view valid only during the call
 * (read it there, copy what you keep). Socket.IO: event frames (`42…`) only,
 * still wrapped (see `layoutFor`); pings are answered here and anything else
 * goes to `onStray` with a short reason. The protocol is decided once per
 * connection.
 */
export function onFrames(socket: BenchSocket, protocol: Protocol, onPayload: (data: Buffer) => void, onStray: (reason: string) => void): void {
  if (socket instanceof LeanSocket) {
    // Only raw WebSocket runs over the lean client (see usesLeanClient).
    socket.onMessage = onPayload;
    return;
  }
  // The other client behind BenchSocket: narrows the type, and a third kind would be a bug here.
  if (!(socket instanceof WebSocket)) throw new TypeError('onFrames: a socket from neither client');
  if (protocol === 'ws') {
    socket.on('message', onPayload);
    return;
  }
  socket.on('message', (data: Buffer) => {
    if (isEvent(data)) return onPayload(data);
    if (isPing(data)) return socket.send(PONG);
    onStray(strayReason(data));
  });
}

export interface OpenManyResult {
  readonly sockets: BenchSocket[];
  readonly errors: Counts;
  /** From the first attempt to the last settled one. */
  readonly elapsedMs: number;
}

/**
 * Opens `shard.count` connections. `rate` (per second, for this shard) paces
 * attempts; 0 means as fast as `MAX_PENDING_HANDSHAKES` pending at once allows.
 */
export async function openMany(options: BenchOptions, shard: Shard, rate: number, onOpen: (opened: number) => void = () => {}): Promise<OpenManyResult> {
  const sockets: BenchSocket[] = [];
  const errors: Counts = {};
  const timeoutMs = options.connectTimeout * 1000;
  // Usually one URL; the suite's fan-out over two nodes spreads subscribers over several (options.spread).
  const urls = options.spread !== undefined && options.spread.length > 0 ? options.spread.map((url) => targetUrl({ url, protocol: options.protocol })) : [targetUrl(options)];
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
      openSocket(urls[index % urls.length] as string, sourceAddressFor(index, options.connections, options.perAddress, options.sourceBase), timeoutMs, options.protocol).then(
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
export async function closeAll(sockets: readonly BenchSocket[], graceMs = 2000): Promise<void> {
  const open = sockets.filter((socket) => socket.readyState !== ReadyState.CLOSED);
  let timer: NodeJS.Timeout | undefined;
  const done = Promise.all(open.map((socket) => new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
    if (socket.readyState === ReadyState.OPEN) socket.close(1000);
    else socket.terminate();
  })));
  await Promise.race([done, new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); })]);
  clearTimeout(timer);
  for (const socket of open) if (socket.readyState !== ReadyState.CLOSED) socket.terminate();
}
