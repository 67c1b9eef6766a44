/**
 * One message larger than `maxBufferedBytes` is not a slow consumer (issue
 * 11, item 9): the bound is checked against the backlog that existed before
 * each send, so a client reading at full speed gets an 8 MiB message with the
 * default 4 MiB bound, while a client that stops reading and keeps getting
 * messages is still closed with 1013 "slow consumer".
 */
import { performance } from 'node:perf_hooks';
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { closeCode, OPCODES } from '../helpers/frames';
import { closeRawClients, rawWebSocket } from '../helpers/raw-client';

const BIG_SENDER = require.resolve('../fixtures/big-sender');
const MiB = 1024 * 1024;

afterEach(async () => {
  closeRawClients();
  await closeAll();
});

test('one 8 MiB message reaches a client that reads at full speed, with the default maxBufferedBytes', async () => {
  const { port } = await startCluster({ workers: 1, services: { big: BIG_SENDER } });
  const client = await connect(port, '/big');
  await client.received(1);
  client.socket.send(`big:${8 * MiB}`);
  const [, big] = await client.received(2);
  expect(typeof big === 'string' ? big.length : -1).toBe(8 * MiB);
  // Still open, and still served: the next round trip works (a close, 1013 before the fix, fails at once).
  client.socket.send('after');
  const closedFirst = client.closed.then((code) => Promise.reject(new Error(`closed with ${code} ${client.closeReason}`)));
  closedFirst.catch(() => undefined);
  expect((await Promise.race([client.received(3), closedFirst]))[2]).toBe('after');
  expect(client.closeCode).toBeUndefined();
});

test('a client that stops reading and keeps getting messages is still closed with 1013 "slow consumer"', async () => {
  const { port } = await startCluster({ workers: 1, services: { big: BIG_SENDER } });
  const asker = await connect(port, '/big');
  await asker.received(1);
  const raw = await rawWebSocket(port, '/big');
  const welcome = await raw.frame((f) => f.opcode === OPCODES.TEXT);
  const { id } = JSON.parse(welcome.payload.toString()) as { id: string };
  raw.socket.pause();
  // 32 MiB in 256 KiB messages: far more than the kernel's socket buffers take, so the rest piles up in the worker.
  const count = 128;
  asker.socket.send(`flood:${id}:${count}:${256 * 1024}`);
  // "flooded" comes on the same link after the flood: the worker has taken (and refused) all of it.
  expect((await asker.received(2))[1]).toBe('flooded');
  const resumed = performance.now();
  raw.socket.resume();
  const close = await raw.frame((f) => f.opcode === OPCODES.CLOSE);
  expect(closeCode(close.payload)).toBe(1013);
  expect(close.payload.subarray(2).toString()).toBe('slow consumer');
  // Read within the 2 s the worker gives a limit's close, and not every message was queued.
  expect(performance.now() - resumed).toBeLessThan(2000);
  expect(raw.frames.filter((f) => f.opcode === OPCODES.TEXT).length).toBeLessThan(count);
  await raw.closed;
});
