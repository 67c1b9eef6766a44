/**
 * One worker of the Socket.IO cluster baseline (forked by socketio-cluster.ts):
 * a Socket.IO server with the cluster adapter, WebSocket transport only.
 * echo: each "message" event goes back to its sender, inside this worker.
 * fanout: every client joins one room; a "message" event is emitted to the
 * room, reaching the other workers' clients through the cluster adapter.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/cluster-adapter';
import { Server } from 'socket.io';

const ROOM = 'bench';
const fanout = process.env.SOCKETIO_BENCH_MODE === 'fanout';

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1024 * 1024,
});
io.adapter(createAdapter());

if (fanout) {
  io.on('connection', (socket) => {
    void socket.join(ROOM);
    socket.on('message', (payload: unknown) => {
      io.to(ROOM).emit('message', payload);
    });
  });
} else {
  io.on('connection', (socket) => {
    socket.on('message', (payload: unknown) => {
      socket.emit('message', payload);
    });
  });
}

process.on('SIGTERM', () => process.exit(0));
httpServer.listen({ port: 0, host: '127.0.0.1' });
