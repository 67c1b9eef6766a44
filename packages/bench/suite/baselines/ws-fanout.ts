/** Baseline for fanout: a single-process `ws` server that sends every message to every client. */
import { WebSocket, WebSocketServer } from 'ws';
import { listenReported } from './listen';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data as Buffer, { binary: isBinary });
  });
});
listenReported(wss);
