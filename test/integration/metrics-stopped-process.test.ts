/**
 * A stopped (SIGSTOPped) process costs one slow scrape, not one per scrape:
 * the first scrape waits for it up to the gather deadline and renders its
 * latest snapshot; the next ones do not wait for it again.
 */
import * as path from 'node:path';
import { GATHER_TIMEOUT_MS } from '../../src/master/cluster-queries';
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { parsePrometheus } from '../helpers/prometheus';

const ECHO = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');

afterEach(closeAll);

/** One scrape: its status, its samples and how long it took. */
async function scrape(port: number): Promise<{ status: number; ms: number; received: number | undefined }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const body = await response.text();
  const ms = performance.now() - started;
  const received = parsePrometheus(body)
    .filter((sample) => sample.name === 'switchyard_messages_received_total')
    .reduce((sum, sample) => sum + sample.value, 0);
  return { status: response.status, ms, received };
}

test('a SIGSTOPped service makes one scrape wait for the gather deadline; the next ones are answered at once from its latest snapshot', async () => {
  // No cache: every scrape gathers, so what is measured is the wait for the stopped process.
  const { server, port } = await startCluster({ services: { echo: ECHO }, metricsCacheMs: 0 });
  const client = await connect(port, '/echo');
  client.socket.send('one');
  await client.received(1);
  const warm = await scrape(port);
  expect(warm.status).toBe(200);
  const pid = server.stats().services[0]?.pid as number;
  process.kill(pid, 'SIGSTOP');
  try {
    const first = await scrape(port);
    expect(first.status).toBe(200);
    expect(first.ms).toBeLessThan(GATHER_TIMEOUT_MS + 500);
    // The stopped service's counters are still there (its latest snapshot): no dip.
    expect(first.received).toBeGreaterThanOrEqual(warm.received as number);
    const next = [];
    for (let i = 0; i < 4; i++) next.push(await scrape(port));
    expect(next.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    // Generous: each takes a few ms here; waiting for the stopped process would take GATHER_TIMEOUT_MS each.
    expect(Math.max(...next.map((s) => s.ms))).toBeLessThan(GATHER_TIMEOUT_MS / 2);
    expect(next.every((s) => (s.received as number) >= (first.received as number))).toBe(true);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // Running again, it answers and is waited for as before.
  client.socket.send('two');
  await client.received(2);
  const after = await scrape(port);
  expect(after.status).toBe(200);
}, 20000);

test('with metricsCacheMs, scrapes within the window get the cached result; a later one sees new traffic', async () => {
  const { port } = await startCluster({ services: { echo: ECHO }, metricsCacheMs: 1000 });
  const client = await connect(port, '/echo');
  const first = await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text());
  client.socket.send('counted later');
  await client.received(1);
  // Right after: the same rendered bytes (no gather ran), though a message was counted meanwhile.
  const cached = await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text());
  expect(cached).toBe(first);
  const count = (body: string): number =>
    parsePrometheus(body)
      .filter((sample) => sample.name === 'switchyard_messages_received_total')
      .reduce((sum, sample) => sum + sample.value, 0);
  // Once the window has passed, a scrape gathers again and counts the message (polled: no event marks the window's end).
  const deadline = Date.now() + 5000;
  let fresh = first;
  while (count(fresh) <= count(first) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    fresh = await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text());
  }
  expect(count(fresh)).toBe(count(first) + 1);
});
