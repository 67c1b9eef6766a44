/**
 * Plain HTTP answers, for both ordinary requests and rejected upgrades (which
 * have only a raw socket to write to).
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors';

function body(status: number, message: string): string {
  return `${JSON.stringify({ error: STATUS_CODES[status] ?? 'Error', message })}\n`;
}

/** Answers with a Switchyard error code (see errors.ts) instead of the status text. */
export function replyCode(response: ServerResponse, status: number, code: ErrorCode | (string & {}), message: string, headers: Readonly<Record<string, string>> = {}): void {
  replyJson(response, status, JSON.stringify({ error: code, message }), headers);
}

/** Answers a rejected upgrade on its raw socket and closes the connection. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  rejectUpgradeWith(socket, status, body(status, message), headers);
}

/** As `rejectUpgrade`, with a code in the body instead of the status text (`{"error": code, "message": …}`, as `replyCode`). */
export function rejectUpgradeCode(socket: Duplex, status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  rejectUpgradeWith(socket, status, `${JSON.stringify({ error: code, message })}\n`, headers);
}

function rejectUpgradeWith(socket: Duplex, status: number, text: string, headers: Readonly<Record<string, string>>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  // Like ws's abortHandshake: end() alone would leave a half-open socket for
  // as long as the peer keeps its side open — an unbounded descriptor leak.
  socket.once('finish', destroySocket);
  (socket as Duplex & { setTimeout?(ms: number, callback: () => void): void }).setTimeout?.(REJECT_FLUSH_TIMEOUT_MS, destroySocket);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}

/** A shared listener (no closure per refused connection): the socket it is called on is destroyed. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** How long a refused peer gets to read the refusal before its socket is destroyed anyway. */
export const REJECT_FLUSH_TIMEOUT_MS = 2000;

export function replyError(response: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  replyJson(response, status, body(status, message), headers);
}

function replyJson(response: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>>): void {
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/**
 * node:http's `clientError`: a request it could not parse (or that timed out)
 * gets 400, 408 or 431 when it can still be answered, else its connection is
 * cut. node raises some errors after it dispatched the request (a bad
 * `Transfer-Encoding`, a broken chunk, `requestTimeout` while the body is
 * read): the socket then carries that request's response.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (pending !== undefined && pending !== null) {
    // A response to an earlier, complete request (pipelined): answering now
    // would pose as that request's response; just cut the connection.
    if (pending.req.complete) {
      socket.destroy();
      return;
    }
    // The failing request's own response, already given (a route answered
    // before the body): let it reach the client, then close.
    if (pending.headersSent) {
      (socket as Duplex & { destroySoon?(): void }).destroySoon?.();
      return;
    }
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  rejectUpgrade(socket, status, status === 431 ? 'Request header fields too large' : status === 408 ? 'Request not complete in time' : 'Bad request');
}
