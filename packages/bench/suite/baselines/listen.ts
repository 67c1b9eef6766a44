/** How a bench target process tells the suite its port, and exits when told or orphaned. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { WebSocketServer } from 'ws';

export interface ListeningMessage {
  readonly type: 'listening';
  readonly port: number;
}

export function reportListening(server: Server): void {
  const message: ListeningMessage = { type: 'listening', port: (server.address() as AddressInfo).port };
  process.send?.(message);
}

export function listenReported(wss: WebSocketServer): void {
  wss.on('listening', () => {
    const message: ListeningMessage = { type: 'listening', port: (wss.address() as AddressInfo).port };
    process.send?.(message);
  });
}

// The suite stops a target with SIGTERM; a suite that died leaves no orphan behind.
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
