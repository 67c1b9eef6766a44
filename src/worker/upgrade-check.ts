/**
 * Decides what happens to an HTTP upgrade request before any WebSocket work is
 * done: which service it goes to, or which HTTP error answers it. The path is
 * compared with configured service names only; it is never used as a file path.
 */
import type { IncomingMessage } from 'node:http';

export type UpgradeVerdict =
  | { readonly ok: true; readonly service: string; readonly path: string; readonly query: Record<string, string> }
  | { readonly ok: false; readonly status: number; readonly message: string; readonly headers?: Readonly<Record<string, string>> };

/**
 * ws's own `keyRegex` (lib/websocket-server.js), tested on the raw value as ws
 * tests it: a key we accepted and ws refused would end the handshake with a
 * 400 of ws's, uncounted. node:http has already stripped spaces and tabs
 * around the value; nothing else may be trimmed.
 */
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

export interface ParsedTarget {
  readonly pathname: string;
  readonly query: Record<string, string>;
}

/**
 * Parses a request target (origin form); undefined when it is not a valid one.
 * The path is kept exactly as sent — no dot-segment or percent decoding — so
 * `/../echo` or `/%65cho` never match a service.
 */
export function parseTarget(url: string | undefined): ParsedTarget | undefined {
  if (url === undefined || !url.startsWith('/') || /[\s\u0000-\u001f\u007f]/.test(url)) return undefined;
  const queryStart = url.indexOf('?');
  const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
  const query: Record<string, string> = {};
  if (queryStart !== -1) {
    for (const [key, value] of new URLSearchParams(url.slice(queryStart + 1))) query[key] = value;
  }
  return { pathname, query };
}

/** The service a path names: `/<name>` or `/<name>/`, for configured names only. */
export function serviceForPath(pathname: string, services: ReadonlySet<string>): string | undefined {
  if (!pathname.startsWith('/')) return undefined;
  const end = pathname.endsWith('/') && pathname.length > 1 ? pathname.length - 1 : pathname.length;
  const name = pathname.slice(1, end);
  return services.has(name) ? name : undefined;
}

/**
 * What makes a request head unacceptable whatever it asks for (a 400), or
 * undefined. node:http keeps the first `Host` and silently drops the others,
 * so they are counted in the raw list: two hosts let a proxy and this server
 * disagree on which site was asked (RFC 9112 §3.2). A `Transfer-Encoding`
 * whose last coding is not `chunked` leaves the body's length unknown (RFC
 * 9112 §6.3); node's parser fails on it only after the request was
 * dispatched, so it is refused here before any route answers.
 */
export function checkRequestHead(request: IncomingMessage): string | undefined {
  const raw = request.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'More than one Host header';
  }
  const coding = request.headers['transfer-encoding'];
  if (coding !== undefined && !FINAL_CHUNKED.test(coding)) return 'Transfer-Encoding must end with chunked';
  return undefined;
}

/** `chunked` as the last coding of a `Transfer-Encoding` list (node joins repeated headers with `, `). */
const FINAL_CHUNKED = /(?:^|,)[ \t]*chunked[ \t]*$/i;

export function checkUpgrade(request: IncomingMessage, services: ReadonlySet<string>): UpgradeVerdict {
  if (request.method !== 'GET') {
    return { ok: false, status: 405, message: 'WebSocket upgrades must use GET', headers: { Allow: 'GET' } };
  }
  const problem = checkRequestHead(request);
  if (problem !== undefined) return { ok: false, status: 400, message: problem };
  // A handshake has no body; one framed as if it had would be read as frames here and as a body by a proxy in front.
  if (request.headers['transfer-encoding'] !== undefined) return { ok: false, status: 400, message: 'A WebSocket upgrade has no body: no Transfer-Encoding' };
  const target = parseTarget(request.url);
  if (target === undefined) return { ok: false, status: 400, message: 'Invalid request target' };
  const service = serviceForPath(target.pathname, services);
  if (service === undefined) return { ok: false, status: 404, message: 'No service at this path' };
  const upgrade = request.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    return { ok: false, status: 400, message: 'Upgrade header must be "websocket"' };
  }
  const version = request.headers['sec-websocket-version'];
  if (version !== '13') {
    return { ok: false, status: 426, message: 'Unsupported WebSocket version', headers: { 'Sec-WebSocket-Version': '13' } };
  }
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY_PATTERN.test(key)) {
    return { ok: false, status: 400, message: 'Missing or invalid Sec-WebSocket-Key' };
  }
  return { ok: true, service, path: target.pathname, query: target.query };
}
