/**
 * The client's side of the opening handshake (RFC 6455 §4.1): the Upgrade
 * request, and the checks on the server's response. Failure reasons are the
 * texts the `ws` client gives, so connect errors count the same.
 */
import { createHash, randomBytes } from 'node:crypto';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A response head longer than this is not a WebSocket server answering (Node's HTTP client allows 16 KiB too). */
export const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** The Sec-WebSocket-Accept a server must answer `key` with. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
}

/** The GET request that asks for the upgrade; no subprotocol, no extension (so no compression). */
export function upgradeRequest(url: URL, key: string): string {
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    '\r\n';
}

/** Collects the response head as it arrives, however the reads split it. */
export class ResponseHeadReader {
  private text = '';

  /** The head so far (complete once `push` returned an offset). */
  get head(): string {
    return this.text;
  }

  /**
   * Adds `chunk[start, end)`; returns the offset in `chunk` just past the
   * blank line that ends the head (what follows is already frames), or -1
   * while the head is incomplete. Throws when the head grows too long.
   */
  push(chunk: Buffer, start: number, end: number): number {
    const before = this.text.length;
    // latin1: one character per byte, so string offsets are byte offsets.
    this.text += chunk.toString('latin1', start, end);
    const blankLine = this.text.indexOf('\r\n\r\n', Math.max(0, before - 3));
    if (blankLine === -1) {
      if (this.text.length > MAX_RESPONSE_HEAD_BYTES) throw new Error('Invalid HTTP response: head too large');
      return -1;
    }
    const headEnd = blankLine + 4;
    this.text = this.text.slice(0, headEnd);
    return start + headEnd - before;
  }
}

function headerValues(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // Repeated headers combine as a list, as Node's HTTP parser does.
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return headers;
}

/** Why the response does not complete the handshake for `key` (`HTTP <status>` for any status but 101); undefined when it does. */
export function handshakeFailure(head: string, key: string): string | undefined {
  const status = /^HTTP\/1\.[01] (\d{3})(?: |\r\n)/.exec(head);
  if (status === null) return 'Invalid HTTP response';
  if (status[1] !== '101') return `HTTP ${status[1]}`;
  const headers = headerValues(head);
  if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return 'Invalid Upgrade header';
  const connection = (headers.get('connection') ?? '').toLowerCase().split(',').map((token) => token.trim());
  if (!connection.includes('upgrade')) return 'Invalid Connection header';
  if (headers.get('sec-websocket-accept') !== acceptFor(key)) return 'Invalid Sec-WebSocket-Accept header';
  if (headers.has('sec-websocket-protocol')) return 'Server sent a subprotocol but none was requested';
  if (headers.has('sec-websocket-extensions')) return 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
  return undefined;
}
