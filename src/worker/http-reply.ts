/**
 * Plain HTTP answers, for both ordinary requests and rejected upgrades (which
 * have only a raw socket to write to).
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

function body(status: number, message: string): string {
  return `${JSON.stringify({ error: STATUS_CODES[status] ?? 'Error', message })}\n`;
}

/** Answers a rejected upgrade on its raw socket and closes the connection. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = body(status, message);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}

export function replyError(response: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  const text = body(status, message);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}
