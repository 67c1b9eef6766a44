/**
 * Service-to-client messages are never lost silently when a worker's link
 * queue is full (issue 11, item 8). A service that publishes or sends in a
 * tight loop past the queue's bound: each client whose message was refused is
 * closed with 1013 "service backlog full" after the messages that did fit, in
 * order (no gap without a close); a client that missed nothing stays open. A
 * service that awaits `drained()` between messages delivers everything.
 */
import { closeAll, connect, startCluster, type TestClient } from '../helpers/cluster';
import { parsePrometheus, total } from '../helpers/prometheus';

const FLOODER = require.resolve('../fixtures/flooder');
const COUNT = 200;
const PADDING = 4096;
// 16 messages or 64 KiB (about 15 of these messages) per link queue: a tight loop of 200 overflows it in its first turn.
const SMALL_QUEUES = { workers: 1, ipcMaxQueuedMessages: 16, ipcMaxQueuedBytes: 64 * 1024, services: { flood: FLOODER } } as const;

afterEach(closeAll);

async function joined(port: number, subscribe: boolean): Promise<{ client: TestClient; id: string }> {
  const client = await connect(port, '/flood');
  const { id } = await client.json<{ id: string }>((m) => m.type === 'welcome');
  if (subscribe) {
    client.socket.send('sub');
    await client.received(2);
  }
  return { client, id };
}

/** The numbers of the numbered messages `client` got, in arrival order. */
function numbers(client: TestClient): number[] {
  return client.messages.flatMap((m) => (typeof m === 'string' && /^\d+:/.test(m) ? [Number(m.slice(0, m.indexOf(':')))] : []));
}

/** Resolves once `client` is closed or has `done()`; rejects, naming what arrived, if neither happens within 5 s (a silent gap). */
function settled(client: TestClient, done: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: neither closed nor complete within 5 s (got ${numbers(client).length} numbered messages of ${COUNT}): a silent gap`)), 5000);
    const finish = (): void => {
      clearTimeout(timer);
      client.socket.off('message', check);
      resolve();
    };
    void client.closed.then(finish);
    // TestClient's own listener, added first, has recorded each message by the time this one runs.
    const check = (): void => {
      if (done()) finish();
    };
    client.socket.on('message', check);
    check();
  });
}

/** Every numbered message up to where it stopped, in order; a client that did not get them all was closed with 1013. */
function expectNoSilentGap(client: TestClient): number {
  const got = numbers(client);
  expect(got).toEqual(got.map((_, i) => i));
  if (got.length < COUNT) {
    expect(client.closeCode).toBe(1013);
    expect(client.closeReason).toBe('service backlog full');
  }
  return got.length;
}

test('a tight-loop publish past the link queue closes its subscribers with 1013 after what fit; nobody else', async () => {
  const { port } = await startCluster(SMALL_QUEUES);
  const subscriber = await joined(port, true);
  const bystander = await joined(port, false);
  const asker = await joined(port, false);
  asker.client.socket.send(`flood:${COUNT}:${PADDING}`);
  await settled(subscriber.client, () => numbers(subscriber.client).length === COUNT, 'the subscriber');
  await settled(asker.client, () => asker.client.messages.includes(`end:${COUNT}`), 'the asker');
  // The queue overflowed (or this test proves nothing), and the subscriber heard of it.
  expect(expectNoSilentGap(subscriber.client)).toBeLessThan(COUNT);
  // The unicast "end" came right after the flood, into the same full queue: refused, so its client is closed too.
  expect(asker.client.messages).not.toContain(`end:${COUNT}`);
  expect(asker.client.closeCode).toBe(1013);
  // A client that missed nothing is still served.
  bystander.client.socket.send('still there?');
  expect((await bystander.client.received(2))[1]).toBe('still there?');
  expect(bystander.client.closeCode).toBeUndefined();
  // Both closes are counted for the operator.
  const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  expect(total(scrape, 'switchyard_backlog_closed_total', { service: 'flood' })).toBe(2);
  expect(total(scrape, 'switchyard_routing_dropped_total', { reason: 'undeliverable' })).toBeGreaterThan(0);
});

test('a tight-loop unicast send past the link queue closes its client with 1013 after what fit', async () => {
  const { port } = await startCluster(SMALL_QUEUES);
  const target = await joined(port, false);
  const asker = await joined(port, false);
  asker.client.socket.send(`unicast:${target.id}:${COUNT}:${PADDING}`);
  await settled(target.client, () => numbers(target.client).length === COUNT, 'the target');
  expect(expectNoSilentGap(target.client)).toBeLessThan(COUNT);
});

test('a service that awaits drained() between publishes delivers every message, and nobody is closed', async () => {
  const { port } = await startCluster(SMALL_QUEUES);
  const subscriber = await joined(port, true);
  const asker = await joined(port, false);
  asker.client.socket.send(`paced:${COUNT}:${PADDING}`);
  const closedEarly = (client: TestClient): Promise<never> => client.closed.then((code) => Promise.reject(new Error(`closed with ${code} ${client.closeReason}`)));
  await Promise.race([Promise.all([asker.client.received(2, 5000), subscriber.client.received(2 + COUNT, 5000)]), closedEarly(asker.client), closedEarly(subscriber.client)]);
  expect(asker.client.messages[1]).toBe(`end:${COUNT}`);
  expect(numbers(subscriber.client)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  expect(subscriber.client.closeCode).toBeUndefined();
  expect(asker.client.closeCode).toBeUndefined();
});
