/** Baseline for echo: a single-process `ws` server that sends every message back (over node:https with --tls). */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { WebSocketServer } from 'ws';
import { TLS_CERT_ENV, TLS_KEY_ENV } from '../tls-cert';
import { listenReported } from './listen';

const cert = process.env[TLS_CERT_ENV];
const key = process.env[TLS_KEY_ENV];
// The large-message scenario raises maxPayload on both sides (suite/large-messages.ts).
const maxPayload = Number(process.env.SWITCHYARD_BENCH_MAX_PAYLOAD ?? 1024 * 1024);
const options = { perMessageDeflate: false, clientTracking: false, maxPayload } as const;
let wss: WebSocketServer;
if (cert === undefined || key === undefined) {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
} else {
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) });
  wss = new WebSocketServer({ server, ...options });
  server.listen(0, '127.0.0.1');
}
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
listenReported(wss);
