import * as net from 'node:net';
import pino from 'pino';
import { decodePayload, encodePayload, type Payload } from '../../src/protocol';
import { Peers, type PeerHooks } from '../../src/services/peers';
import { SocketDir, poll } from '../helpers/line-peer';

const silent = pino({ level: 'silent' });
const LIMITS = { maxMessages: 100, maxBytes: 1 << 20 };
const SECRET = 's'.repeat(43);

let sockets: SocketDir;
const opened: Peers[] = [];

beforeEach(() => {
  sockets = new SocketDir();
});

afterEach(async () => {
  for (const peers of opened.splice(0)) peers.close();
  await sockets.close();
});

function peersOf(self: number, received: Array<[number, string]>, ups: number[] = [], count = 0): Peers {
  const hooks: PeerHooks = {
    onMessage: (from: number, payload: Payload) => received.push([from, decodePayload(payload) as string]),
    onUp: (instance) => ups.push(instance),
    count: () => count,
    admits: (_instance, secret) => secret === SECRET,
  };
  const peers = new Peers(self, 3, LIMITS, silent, hooks);
  opened.push(peers);
  return peers;
}

test('messages reach a peer in the order sent; what is sent before it is announced waits for it', async () => {
  const atB: Array<[number, string]> = [];
  const ups: number[] = [];
  const a = peersOf(0, [], ups);
  const b = peersOf(1, atB);
  const endpoint = sockets.path('peer');
  await b.listen(endpoint);
  expect(a.send(1, { data: 'early' })).toBe(true);
  a.peerUp(1, endpoint, SECRET);
  for (let i = 0; i < 60; i++) a.send(1, { data: `m${i}` });
  await poll(() => atB.length === 61);
  expect(atB).toEqual([[0, 'early'], ...Array.from({ length: 60 }, (_, i): [number, string] => [0, `m${i}`])]);
  expect(ups).toEqual([1]);
  // Not a peer: itself, or past the count.
  expect(a.send(0, { data: 'x' })).toBe(false);
  expect(a.send(3, { data: 'x' })).toBe(false);
});

test('binary and big text cross a peer connection as raw segments and arrive exact', async () => {
  const payloads: Payload[] = [];
  const a = peersOf(0, []);
  const b = new Peers(1, 3, LIMITS, silent, { onMessage: (_from, payload) => payloads.push(payload), onUp: () => undefined, count: () => 0, admits: (_i, secret) => secret === SECRET });
  opened.push(b);
  const endpoint = sockets.path('peer');
  await b.listen(endpoint);
  a.peerUp(1, endpoint, SECRET);
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i & 0xff));
  const text = 'é€\n"'.repeat(10_000);
  a.send(1, encodePayload(bytes));
  a.send(1, encodePayload(text));
  a.send(1, encodePayload(Buffer.alloc(0)));
  await poll(() => payloads.length === 3);
  // Buffers compared with equals(): jest's deep equality walks 70,000 indexes slowly.
  expect([payloads[0]?.binary, Buffer.isBuffer(payloads[0]?.data) && bytes.equals(payloads[0].data)]).toEqual([true, true]);
  expect(decodePayload(payloads[1] as Payload)).toBe(text);
  expect(payloads[2]).toMatchObject({ data: Buffer.alloc(0), binary: true });
});

test('while a peer is down, what waits for it is bounded: past the bound it is dropped and counted', () => {
  const a = peersOf(0, []);
  for (let i = 0; i < LIMITS.maxMessages; i++) expect(a.send(2, { data: 'x' })).toBe(true);
  expect(a.send(2, { data: 'one too many' })).toBe(false);
  expect(a.dropped).toBe(1);
});

test('the cluster count adds the peers that answer', async () => {
  const ups: number[] = [];
  const a = peersOf(0, [], ups);
  const b = peersOf(1, [], [], 5);
  const [ea, eb] = [sockets.path('a'), sockets.path('b')];
  await a.listen(ea);
  await b.listen(eb);
  a.peerUp(1, eb, SECRET);
  b.peerUp(0, ea, SECRET);
  await poll(() => ups.length === 1);
  // Instance 2 was never announced: it counts 0.
  expect(await a.clusterCount('t', 2)).toBe(7);
});

test('a connection without a valid peer hello is refused', async () => {
  const b = peersOf(1, []);
  const endpoint = sockets.path('peer');
  await b.listen(endpoint);
  for (const line of ['[{"type":"peerHello","instance":0,"secret":"wrong"}]\n', '[{"type":"hello","worker":1,"secret":"x"}]\n', '[{"type":"peerHello","instance":1,"secret":"' + SECRET + '"}]\n']) {
    const socket = net.connect(endpoint);
    socket.write(line);
    await new Promise((resolve) => socket.once('close', resolve));
  }
  expect(b.refused).toBe(3);
});
