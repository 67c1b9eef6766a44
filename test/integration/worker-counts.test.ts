/**
 * What a worker counts, read back through a real cluster's /metrics: bytes
 * sent in UTF-8 whatever path a message takes, and an upgrade refused for its
 * key counted like every other refusal.
 */
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { parsePrometheus, total, type Sample } from '../helpers/prometheus';
import { closeRawClients, rawRequest, upgradeRequest } from '../helpers/raw-client';

const ECHO = require.resolve('../../src/services/examples/echo');

let port: number;
beforeAll(async () => {
  ({ port } = await startCluster({ workers: 1, services: { echo: ECHO } }));
});
afterEach(closeRawClients);
afterAll(closeAll);

async function metrics(): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

test('a single send of a non-ASCII text counts its UTF-8 bytes in switchyard_sent_bytes_total, as received bytes do', async () => {
  const before = await metrics();
  const text = 'é€😀';
  const bytes = Buffer.byteLength(text, 'utf8');
  // 9 bytes, 4 UTF-16 code units: the two counts tell the units apart.
  expect([bytes, text.length]).toEqual([9, 4]);
  const client = await connect(port, '/echo');
  client.socket.send(text);
  expect(await client.received(1)).toEqual([text]);
  client.socket.close();
  await client.closed;
  const after = await metrics();
  const sent = total(after, 'switchyard_sent_bytes_total', { service: 'echo' }) - total(before, 'switchyard_sent_bytes_total', { service: 'echo' });
  const received = total(after, 'switchyard_received_bytes_total', { service: 'echo' }) - total(before, 'switchyard_received_bytes_total', { service: 'echo' });
  expect({ sent, received }).toEqual({ sent: bytes, received: bytes });
});

test('a Sec-WebSocket-Key padded with what only trim() strips gets a 400 that is counted', async () => {
  const before = total(await metrics(), 'switchyard_upgrades_rejected_total', { status: '400' });
  // Byte 0xA0 (a latin1 no-break space): node:http keeps it in the value, ws refuses the key.
  const request = Buffer.from(upgradeRequest('/echo', { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==\u00a0' }), 'latin1');
  expect((await rawRequest(port, request)).status).toBe(400);
  const after = total(await metrics(), 'switchyard_upgrades_rejected_total', { status: '400' });
  expect(after - before).toBe(1);
});
