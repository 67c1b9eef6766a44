/** Baseline for echo: a single-process `ws` server that sends every message back. */
import { WebSocketServer } from 'ws';
import { listenReported } from './listen';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
listenReported(wss);
