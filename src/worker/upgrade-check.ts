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

export function checkUpgrade(request: IncomingMessage, services: ReadonlySet<string>): UpgradeVerdict {
  if (request.method !== 'GET') {
    return { ok: false, status: 405, message: 'WebSocket upgrades must use GET', headers: { Allow: 'GET' } };
  }
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
