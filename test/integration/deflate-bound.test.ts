/**
 * permessage-deflate lets a client send a small frame that inflates to
 * `maxPayload`: about 1 KB on the wire becomes 1 MiB for the worker to inflate
 * and the service to receive. `maxInflatedBytesPerSecond` bounds what one
 * compressed client may deliver; a real cluster, a raw client sending such
 * frames, and well-behaved clients beside it.
 */
import WebSocket from 'ws';
import { closeAll, connect, startCluster, type TestClient } from '../helpers/cluster';
import { closeCode, deflatedPayload, frame, OPCODES } from '../helpers/frames';
import { closeRawClients, rawWebSocket } from '../helpers/raw-client';
import type { Tally } from '../fixtures/byte-tally';

const TALLY = require.resolve('../fixtures/byte-tally');
const MiB = 1024 * 1024;
/** The default budget: `maxInflatedBytesPerSecond`. */
const BUDGET = 8 * MiB;
const BOMBS = 40;

afterEach(async () => {
  closeRawClients();
  await closeAll();
});

/** Asks the service for its counts until `done` holds for them (each ask waits for its answer). */
async function tallyWhen(client: TestClient, done: (tallies: Record<string, Tally>) => boolean): Promise<Record<string, Tally>> {
  for (let asked = 0; asked < 200; asked++) {
    client.socket.send('tally?');
    const messages = await client.received(client.messages.length + 1);
    const tallies = JSON.parse(messages[messages.length - 1] as string) as Record<string, Tally>;
    if (done(tallies)) return tallies;
  }
  throw new Error('the service never reported the expected counts');
}

test('compressed frames that inflate past maxInflatedBytesPerSecond: 1008, the service got at most the budget, others are served', async () => {
  const { port } = await startCluster({ workers: 1, services: { tally: TALLY }, perMessageDeflate: true });
  const good = await connect(port, '/tally', { perMessageDeflate: true, headers: { 'user-agent': 'good' } });
  expect(good.socket.extensions).toContain('permessage-deflate');
  const plain = await connect(port, '/tally', { perMessageDeflate: false, headers: { 'user-agent': 'plain' } });
  const attacker = await rawWebSocket(port, '/tally', { 'Sec-WebSocket-Extensions': 'permessage-deflate', 'User-Agent': 'attacker' });

  // 1 MiB of one letter deflates to about 1 KB: 40 of them are 40 KB on the wire, 40 MiB inflated.
  const bomb = deflatedPayload(Buffer.alloc(MiB, 0x61));
  expect(bomb.length).toBeLessThan(2048);
  const closing = attacker.frame((f) => f.opcode === OPCODES.CLOSE).then(
    (close) => {
      attacker.socket.write(frame(OPCODES.CLOSE, close.payload));
      return close;
    },
    () => undefined,
  );
  attacker.socket.write(Buffer.concat(Array.from({ length: BOMBS }, () => frame(OPCODES.TEXT, bomb, { rsv1: true }))));

  // Either the attacker was closed (what must happen) or every bomb reached the service (what did before).
  const seen = await tallyWhen(good, (t) => t.attacker !== undefined && (t.attacker.closed !== null || t.attacker.messages === BOMBS));
  expect(seen.attacker.closed).toBe(1008);
  // The budget (the bucket starts full), plus what refilled while the frames were inflated.
  expect(seen.attacker.bytes).toBeLessThanOrEqual(BUDGET + MiB);
  expect(seen.attacker.messages).toBeLessThan(BOMBS);
  const close = await closing;
  expect(close).toBeDefined();
  expect(closeCode((close as { payload: Buffer }).payload)).toBe(1008);
  expect((close as { payload: Buffer }).payload.subarray(2).toString()).toBe('inflate rate limit');
  await attacker.closed;

  // The compressed client beside it is served; an uncompressed one is bounded by its wire bytes, not by this budget.
  for (let i = 0; i < 10; i++) plain.socket.send(Buffer.alloc(MiB, 0x62).toString());
  // Over ws's 1 KiB threshold: the client compresses it.
  good.socket.send('y'.repeat(64 * 1024));
  const after = await tallyWhen(good, (t) => t.good?.messages === 1 && t.plain?.messages === 10);
  expect(after.good).toEqual({ messages: 1, bytes: 64 * 1024, closed: null });
  expect(after.plain).toEqual({ messages: 10, bytes: 10 * MiB, closed: null });
  expect(good.socket.readyState).toBe(WebSocket.OPEN);
  expect(plain.socket.readyState).toBe(WebSocket.OPEN);
}, 20_000);
