/**
 * The one thing the client needs from a WebSocket implementation, and where
 * it gets one: the `WebSocket` option, else the host's global `WebSocket`
 * (browsers, Node 22+), else the `ws` package, loaded only then (Node 20). No
 * DOM or Node types leak into the client's declarations.
 */

/** The parts of an event the client reads. */
export interface SocketEvent {
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

/** A WHATWG-style WebSocket (the browser's, Node's global, or `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((event: SocketEvent) => void) | null;
  onmessage: ((event: SocketEvent) => void) | null;
  onclose: ((event: SocketEvent) => void) | null;
  onerror: ((event: SocketEvent) => void) | null;
  send(data: never): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What `ws` adds: the response that refused an upgrade, and a hard close. */
interface WsSocket extends WebSocketLike {
  on(event: 'unexpected-response', listener: (request: unknown, response: UpgradeResponse) => void): unknown;
  terminate(): void;
}

interface UpgradeResponse {
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  resume?(): void;
}

/** An upgrade the server refused with an HTTP status. */
export interface Refusal {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

export const OPEN = 1;

/** Resolves the constructor to use; `ws` is imported only when nothing else is there. */
export async function webSocketConstructor(given: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (given !== undefined) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  // A computed name: browser bundlers must not try to bundle ws (a browser has a global WebSocket and never gets here).
  const name = 'ws';
  const module = (await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as { default?: WebSocketConstructor; WebSocket?: WebSocketConstructor };
  const found = module.WebSocket ?? module.default;
  if (found === undefined) throw new Error('the ws package exports no WebSocket');
  return found;
}

/**
 * Under `ws`, records the status of a refused upgrade (a browser tells
 * nothing: a refused upgrade is a 1006 like any dropped connection) and ends
 * the attempt, which then closes with 1006 as usual.
 */
export function watchRefusal(socket: WebSocketLike, onRefusal: (refusal: Refusal) => void): void {
  const ws = socket as Partial<WsSocket>;
  if (typeof ws.on !== 'function' || typeof ws.terminate !== 'function') return;
  ws.on('unexpected-response', function onUnexpectedResponse(_request, response) {
    const header = response.headers?.['retry-after'];
    onRefusal({ status: response.statusCode ?? 0, retryAfter: Array.isArray(header) ? header[0] : header });
    response.resume?.();
    (socket as WsSocket).terminate();
  });
}

/**
 * The ws:/wss: URL for `url`: absolute, or relative to the page (`'/chat'`
 * in a browser); http: and https: become ws: and wss:.
 */
export function socketUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const parsed = new URL(url, base);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`unsupported scheme ${parsed.protocol}`);
  return parsed.href;
}
