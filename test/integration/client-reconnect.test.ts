/**
 * The Node client (`switchyard/client`, over `ws` in Node 20) against real
 * clusters: through a rolling reload (1012: back within a second, nothing
 * queued lost, every request answered or rejected with a typed error),
 * through a SIGKILL of its worker (1006), and against a service stuck until
 * the hold bound closes it with 1013 (it backs off instead of hammering).
 */
import * as path from 'node:path';
import WebSocket from 'ws';
import { connect, SwitchyardClientError, type SwitchyardClient, type WebSocketConstructor } from '../../src/client';
import { closeAll, FIXTURES, startCluster } from '../helpers/cluster';
import { readLedger, useLedger } from '../helpers/ledger';

const ledgerFile = useLedger(async () => {
  for (const client of clients) client.close();
  clients = [];
  await closeAll();
});

let clients: SwitchyardClient[] = [];

function track(client: SwitchyardClient): SwitchyardClient {
  clients.push(client);
  return client;
}

/** Resolves with the next JSON message of `type` (the ledger's welcome, done, …). */
function nextOfType(client: SwitchyardClient, type: string, timeoutMs = 8000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no ${type} message within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(data: string | ArrayBuffer): void {
      if (typeof data !== 'string') return;
      const message = JSON.parse(data) as Record<string, unknown>;
      if (message.type !== type) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(message);
    }
    client.on('message', onMessage);
  });
}

function nextEvent(client: SwitchyardClient, event: 'open' | 'reconnected', timeoutMs = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      client.off(event, done);
      resolve();
    };
    client.on(event, done);
  });
}

/** Numbers the ledger handled for clients of this test, first handling only, grouped by client id in handling order. */
function handled(file: string): Map<string, string[]> {
  const byClient = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const entry of readLedger(file)) {
    if (!/^\w+-\d+$/.test(entry.data) || seen.has(entry.data)) continue;
    seen.add(entry.data);
    byClient.set(entry.client, [...(byClient.get(entry.client) ?? []), entry.data]);
  }
  return byClient;
}

function sequence(tag: string, numbers: readonly string[]): number[] {
  return numbers.filter((data) => data.startsWith(`${tag}-`)).map((data) => Number(data.slice(tag.length + 1)));
}

test('through a rolling reload: reconnects within a second, nothing queued is lost, requests answered or rejected with typed errors', async () => {
  const { server, port } = await startCluster({ services: { ledger: path.join(FIXTURES, 'ledger-echo.ts') } });
  const client = track(connect(`ws://127.0.0.1:${port}/ledger`));
  await nextEvent(client, 'open');

  const closedAt: number[] = [];
  const gaps: number[] = [];
  const codes: number[] = [];
  client.on('close', (info) => {
    codes.push(info.code);
    if (info.reconnect) closedAt.push(Date.now());
  });
  client.on('open', () => {
    const closed = closedAt[closedAt.length - 1];
    if (closed !== undefined) gaps.push(Date.now() - closed);
  });
  const accepted: string[] = [];
  /** Each request's outcome: its answer and what was sent, or the error it was rejected with. */
  const requests: Array<Promise<{ answer: unknown; sent: unknown } | { error: unknown }>> = [];
  let n = 0;
  const sender = setInterval(() => {
    const data = `m-${++n}`;
    if (client.send(data)) accepted.push(data);
    const sent = { n };
    if (n % 3 === 0) requests.push(client.request(sent, { timeout: 5000 }).then((answer) => ({ answer, sent }), (error: unknown) => ({ error })));
  }, 8);
  try {
    await server.reload();
    if (client.state !== 'open') await nextEvent(client, 'open');
    // The stream runs on the new connection for a moment too.
    const resumedAt = n;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (n < resumedAt + 10) return;
        clearInterval(check);
        resolve();
      }, 8);
    });
  } finally {
    clearInterval(sender);
  }
  client.send('last');
  await nextOfType(client, 'done');

  // Each worker of the two was replaced: the client was closed with 1012 at least once, and came back within a second.
  expect(codes.length).toBeGreaterThanOrEqual(1);
  expect(codes.every((code) => code === 1012)).toBe(true);
  expect(gaps).toHaveLength(closedAt.length);
  expect(Math.max(...gaps)).toBeLessThan(1000);
  expect(client.reconnects).toBe(closedAt.length);

  // Nothing accepted by send() is lost: every one was handled; on each connection in the order sent.
  const byClient = handled(ledgerFile());
  const all = [...byClient.values()].flat();
  expect(new Set(all)).toEqual(new Set(accepted));
  expect(byClient.size).toBe(closedAt.length + 1);
  for (const numbers of byClient.values()) {
    const order = sequence('m', numbers);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  }

  // Every request settled: an answer with its own data, or a typed rejection (never resent, never left hanging).
  const outcomes = await Promise.all(requests);
  let answered = 0;
  for (const outcome of outcomes) {
    if ('error' in outcome) {
      expect(outcome.error).toBeInstanceOf(SwitchyardClientError);
      expect((outcome.error as SwitchyardClientError).code).toBe('SY_CLIENT_DISCONNECTED');
    } else {
      expect(outcome.answer).toEqual(outcome.sent);
      answered++;
    }
  }
  expect(answered).toBeGreaterThan(0);
}, 40_000);

test('through a SIGKILL of its worker: reconnects to another, and what it sent while disconnected arrives in order', async () => {
  const { server, port } = await startCluster({ services: { ledger: path.join(FIXTURES, 'ledger-echo.ts') } });
  const client = track(connect(`ws://127.0.0.1:${port}/ledger`));
  const welcome = await nextOfType(client, 'welcome');
  const worker = parseInt(String(welcome.id).split('.')[0] as string, 36);
  const pid = server.stats().workers.find((entry) => entry.id === worker)?.pid as number;

  const queued: string[] = [];
  const dropped = new Promise<number>((resolve) => {
    client.on('close', function onClose(info) {
      client.off('close', onClose);
      // Sent while reconnecting: held in the offline queue.
      for (let i = 1; i <= 5; i++) {
        if (client.send(`q-${i}`)) queued.push(`q-${i}`);
      }
      resolve(info.code);
    });
  });
  const inFlight = client.request('never answered', { timeout: 5000 });
  const rejected = expect(inFlight).rejects.toMatchObject({ code: expect.stringMatching(/^SY_CLIENT_DISCONNECTED$|^SY_CLIENT_TIMEOUT$/) });
  const started = Date.now();
  const back = nextEvent(client, 'reconnected');
  process.kill(pid, 'SIGKILL');
  expect(await dropped).toBe(1006);
  await back;
  expect(Date.now() - started).toBeLessThan(2000);
  const again = await nextOfType(client, 'welcome');
  expect(parseInt(String(again.id).split('.')[0] as string, 36)).not.toBe(worker);
  await rejected;

  client.send('last');
  await nextOfType(client, 'done');
  expect(queued).toEqual(['q-1', 'q-2', 'q-3', 'q-4', 'q-5']);
  expect(sequence('q', handled(ledgerFile()).get(String(again.id)) ?? [])).toEqual([1, 2, 3, 4, 5]);
}, 20_000);

test('a service stuck until the hold bound closes it with 1013: the client backs off instead of hammering', async () => {
  // One worker, so every reconnect meets the same full hold bound; tiny bound, so it fills at once.
  const { port } = await startCluster({ workers: 1, ipcMaxQueuedMessages: 4, stopTimeout: 2000, services: { hung: path.join(FIXTURES, 'hung-handler.ts') } });
  const attempts: number[] = [];
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      attempts.push(Date.now());
    }
  }
  const client = track(connect(`ws://127.0.0.1:${port}/hung`, { WebSocket: CountingWebSocket as unknown as WebSocketConstructor }));
  await nextEvent(client, 'open');
  const closes: number[] = [];
  const delays: number[] = [];
  client.on('close', (info) => closes.push(info.code));
  client.on('reconnecting', (info) => delays.push(info.delay));
  // The first message never settles; the ones after it wait behind it in the hold bound until it is full.
  for (const data of ['hang', 'a', 'b', 'c', 'd', 'e']) client.send(data);
  const watchFrom = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - watchFrom < 5000) return;
      clearInterval(timer);
      resolve();
    }, 100);
  });

  expect(closes.length).toBeGreaterThanOrEqual(2);
  expect(closes.every((code) => code === 1013)).toBe(true);
  // Default busy backoff: 1–2 s, then 2–4 s: two or three attempts in 5 s, never two within a second.
  const reconnects = attempts.slice(1);
  expect(reconnects.length).toBeGreaterThanOrEqual(1);
  expect(reconnects.length).toBeLessThanOrEqual(3);
  for (let i = 1; i < attempts.length; i++) expect((attempts[i] as number) - (attempts[i - 1] as number)).toBeGreaterThanOrEqual(950);
  expect(delays[0]).toBeGreaterThanOrEqual(1000);
  for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(2000 * 2 ** (i - 1));
  expect(client.state).toBe('reconnecting');
}, 20_000);
