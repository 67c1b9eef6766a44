import * as http from 'node:http';
import { httpServerOptions } from '../../src/worker/limits';

test('handshakeTimeout becomes headersTimeout, checked at a quarter of it (at most every second)', () => {
  expect(httpServerOptions({ handshakeTimeout: 10_000, maxHeaderSize: 16384 })).toEqual({
    maxHeaderSize: 16384,
    headersTimeout: 10_000,
    requestTimeout: 300_000,
    connectionsCheckingInterval: 1000,
  });
  expect(httpServerOptions({ handshakeTimeout: 200, maxHeaderSize: 1024 }).connectionsCheckingInterval).toBe(50);
});

test('node:http accepts the options even when handshakeTimeout is above its default requestTimeout', () => {
  // node throws when headersTimeout > requestTimeout; a long handshakeTimeout must not make the worker fail to start.
  const server = http.createServer(httpServerOptions({ handshakeTimeout: 3_600_000, maxHeaderSize: 16384 }));
  expect(server.headersTimeout).toBe(3_600_000);
  expect(server.requestTimeout).toBe(3_600_000);
  server.close();
});
