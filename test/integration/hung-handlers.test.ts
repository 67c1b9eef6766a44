/**
 * A handler that never settles must not stall its client, its worker's hold
 * bound, a stop or a reload past `requestTimeout` (issue 11, item 2). The
 * fixture's `/hang` request never settles.
 */
import * as path from 'node:path';
import type { ServiceExitInfo } from '../../src/master/server';
import { closeAll, connect, startCluster, FIXTURES } from '../helpers/cluster';
import { expectNothingWithin } from '../helpers/expect-nothing';
import { parsePrometheus, total } from '../helpers/prometheus';

afterEach(closeAll);

const services = { hung: path.join(FIXTURES, 'hung-handler.ts') };

/** The exits of service `name`'s instances, as they come. */
function exitsOf(server: { on(event: 'serviceExit', listener: (info: ServiceExitInfo) => void): unknown }, name: string): ServiceExitInfo[] {
  const exits: ServiceExitInfo[] = [];
  server.on('serviceExit', (info) => {
    if (info.service === name) exits.push(info);
  });
  return exits;
}

test('after a hung envelope request times out, the client\'s next messages and requests are handled', async () => {
  const { port } = await startCluster({ services, workers: 1, requestTimeout: 300 });
  const client = await connect(port, '/hung');
  client.sendJson({ $req: 1, data: { path: '/hang' } });
  client.socket.send('after the hung request');
  client.sendJson({ $req: 2, data: { path: '/ok' } });
  const timedOut = await client.json((m) => m.$res === 1);
  expect(timedOut).toMatchObject({ error: { code: 'SY_ERR_REQUEST_TIMEOUT' } });
  // Before the fix the lane waited for the hung handler forever: neither of these came.
  expect(await client.json((m) => m.type === 'plain')).toEqual({ type: 'plain', text: 'after the hung request' });
  expect(await client.json((m) => m.$res === 2)).toEqual({ $res: 2, data: { answered: '/ok' } });
  // In order: the timeout reply, then what the client sent after the request.
  expect(client.messages.map((m) => JSON.parse(String(m)) as Record<string, unknown>).map((m) => m.$res ?? m.type)).toEqual([1, 'plain', 2]);
});

test('a client whose request hung does not use up the worker\'s hold bound, which its neighbours share', async () => {
  // Room for the two connects, the hung request and a few more: one client's held events would soon fill it.
  const { port } = await startCluster({ services, workers: 1, requestTimeout: 200, ipcMaxQueuedMessages: 8 });
  const hung = await connect(port, '/hung');
  const other = await connect(port, '/hung');
  hung.sendJson({ $req: 1, data: { path: '/hang' } });
  expect(await hung.json((m) => m.$res === 1)).toMatchObject({ error: { code: 'SY_ERR_REQUEST_TIMEOUT' } });
  const otherClosed = other.closed.then((code) => {
    throw new Error(`the neighbour was closed with ${code}`);
  });
  for (let i = 0; i < 20; i++) {
    hung.socket.send(`m${i}`);
    // The neighbour's own reply paces the loop; before the fix the bound filled with the hung client's held messages and the neighbour got 1013.
    other.socket.send(`n${i}`);
    await Promise.race([other.json((m) => m.text === `n${i}`), otherClosed]);
  }
  await hung.received(21);
  expect(hung.messages.slice(1).map((m) => (JSON.parse(String(m)) as { text: string }).text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  expect(hung.closeCode).toBeUndefined();
});

test('a hung HTTP request answered 504 does not hold a reload: the retired instance exits at once, not SIGKILLed', async () => {
  const { server, port } = await startCluster({ services, workers: 1, requestTimeout: 300, stopTimeout: 20_000 });
  const exits = exitsOf(server, 'hung');
  const hung = await fetch(`http://127.0.0.1:${port}/services/hung/hang`);
  expect(hung.status).toBe(504);
  await hung.text();
  const started = Date.now();
  await server.reload();
  const took = Date.now() - started;
  // Before the fix: the full stopTimeout (20 s), then SIGKILL.
  expect(took).toBeLessThan(8000);
  expect(exits).toEqual([expect.objectContaining({ expected: true, signal: null })]);
  const after = await fetch(`http://127.0.0.1:${port}/services/hung/ok`);
  expect(await after.json()).toEqual({ answered: '/ok' });
}, 30_000);

test('a hung envelope request past its timeout does not hold a stop', async () => {
  const { server, port } = await startCluster({ services, workers: 1, requestTimeout: 300, stopTimeout: 20_000 });
  const exits = exitsOf(server, 'hung');
  const client = await connect(port, '/hung');
  client.sendJson({ $req: 1, data: { path: '/hang' } });
  expect(await client.json((m) => m.$res === 1)).toMatchObject({ error: { code: 'SY_ERR_REQUEST_TIMEOUT' } });
  const started = Date.now();
  await server.close();
  expect(Date.now() - started).toBeLessThan(8000);
  expect(exits).toEqual([expect.objectContaining({ expected: true, signal: null })]);
}, 30_000);

test('a request that settles after its timeout: its result is not sent, and it is counted as late', async () => {
  const { port } = await startCluster({ services, workers: 1, requestTimeout: 200 });
  const client = await connect(port, '/hung');
  client.sendJson({ $req: 1, data: { path: '/late', ms: 500 } });
  expect(await client.json((m) => m.$res === 1)).toMatchObject({ error: { code: 'SY_ERR_REQUEST_TIMEOUT' } });
  client.socket.send('meanwhile');
  expect(await client.json((m) => m.type === 'plain')).toEqual({ type: 'plain', text: 'meanwhile' });
  // The handler resolves right after this message, within the same turn: the late count follows in microtasks.
  await client.json((m) => m.type === 'settling');
  const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  expect(total(scrape, 'switchyard_service_requests_total', { service: 'hung', transport: 'websocket', outcome: 'late' })).toBe(1);
  expect(total(scrape, 'switchyard_service_requests_total', { service: 'hung', transport: 'websocket', outcome: 'timeout' })).toBe(1);
  // One reply per request: the late result never reaches the client.
  client.socket.send('after');
  await client.json((m) => m.text === 'after');
  expect(client.messages.filter((m) => (JSON.parse(String(m)) as { $res?: unknown }).$res === 1)).toHaveLength(1);
});

test('pinned: a plain onMessage has no timeout, so one that never settles holds its client\'s next events, and a stop waits stopTimeout, then SIGKILLs', async () => {
  const { server, port } = await startCluster({ services, workers: 1, requestTimeout: 200, stopTimeout: 1500 });
  const exits = exitsOf(server, 'hung');
  const client = await connect(port, '/hung');
  const other = await connect(port, '/hung');
  client.socket.send('hang');
  client.socket.send('next');
  other.socket.send('neighbour');
  // Other clients are served; this one's next message waits behind the hung handler.
  expect(await other.json((m) => m.type === 'plain')).toEqual({ type: 'plain', text: 'neighbour' });
  await expectNothingWithin(500, client.json((m) => m.type === 'plain', 600), 'a reply to the message behind the hung one');
  await server.close();
  expect(exits).toEqual([expect.objectContaining({ signal: 'SIGKILL' })]);
});
