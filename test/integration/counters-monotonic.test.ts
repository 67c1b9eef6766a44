/**
 * Defect 1 of issue 10: cluster counters must never go backwards. Prometheus
 * reads any dip of a `_total` series (or a histogram's `_count`, `_sum`,
 * `_bucket`) as a counter reset, so a worker that dies or a service that
 * restarts must not take its counts out of the cluster's totals.
 */
import * as path from 'node:path';
import { closeAll, connect, startCluster, type TestClient } from '../helpers/cluster';
import { parsePrometheus, type Sample } from '../helpers/prometheus';

afterEach(closeAll);

const ECHO = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

/** By its TYPE, not its name: prom-client's `nodejs_active_handles_total` is a gauge. */
function isCounterSeries(sample: Sample): boolean {
  return sample.type === 'counter' || ((sample.type === 'histogram' || sample.type === 'summary') && /_(count|sum|bucket)$/.test(sample.name));
}

function seriesKey(sample: Sample): string {
  const labels = Object.entries(sample.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${sample.name}{${labels}}`;
}

/**
 * Every counter series of `before` that is in `after` with a value at least as
 * high, except those labelled with a worker that exited (`endedWorkers`):
 * those end with it (node:cluster never reuses an id, so they can never be
 * read as a reset) and must be gone. Returns the dips and how many ended.
 */
function compare(before: readonly Sample[], after: readonly Sample[], endedWorkers: readonly string[]): { dips: string[]; ended: number } {
  const later = new Map(after.map((sample) => [seriesKey(sample), sample.value]));
  const dips: string[] = [];
  let compared = 0;
  let ended = 0;
  for (const sample of before.filter(isCounterSeries)) {
    const key = seriesKey(sample);
    if (endedWorkers.includes(sample.labels.process ?? '') || endedWorkers.includes(sample.labels.peer ?? '')) {
      ended++;
      if (later.has(key)) dips.push(`${key}: should have ended with its worker`);
      continue;
    }
    compared++;
    const value = later.get(key);
    if (value === undefined || value < sample.value) dips.push(`${key}: ${sample.value} -> ${value ?? 'missing'}`);
  }
  if (compared < 20) dips.push(`only ${compared} series compared`);
  return { dips, ended };
}

/** Sends `count` messages on each client and waits for every echo. */
async function traffic(clients: readonly TestClient[], count: number): Promise<void> {
  const start = clients.map((client) => client.messages.length);
  for (const client of clients) for (let i = 0; i < count; i++) client.socket.send(`m${i}`);
  await Promise.all(clients.map((client, i) => client.received((start[i] as number) + count)));
}

test('a worker SIGKILLed and a service restarted leave every counter series at or above its earlier value', async () => {
  const { server, port } = await startCluster({ services: { echo: ECHO }, restartDelay: 20 });
  const clients = await Promise.all(Array.from({ length: 6 }, () => connect(port, '/echo')));
  await traffic(clients, 40);
  await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'hi' }).then((r) => r.text());

  const before = await scrape(port);
  const victim = server.stats().workers[0];
  const echoPid = server.stats().services[0]?.pid;
  expect(victim?.pid).toBeDefined();
  expect(echoPid).toBeDefined();

  const replaced = new Promise<void>((resolve) => server.once('workerOnline', () => resolve()));
  process.kill(victim?.pid as number, 'SIGKILL');
  await replaced;
  const restarted = new Promise<{ restarted: boolean }>((resolve) => server.once('serviceOnline', resolve));
  process.kill(echoPid as number, 'SIGKILL');
  expect((await restarted).restarted).toBe(true);

  // Traffic after both deaths, on fresh clients (those on the killed worker are gone).
  const fresh = await Promise.all(Array.from({ length: 4 }, () => connect(port, '/echo')));
  await traffic(fresh, 5);
  const after = await scrape(port);

  expect(compare(before, after, [`worker-${victim?.id}`])).toEqual({ dips: [], ended: expect.any(Number) as number });
  // The totals really carried the dead processes' counts, and the new traffic is on top.
  const received = (samples: readonly Sample[]): number =>
    samples.filter((s) => s.name === 'switchyard_messages_received_total' && s.labels.service === 'echo').reduce((sum, s) => sum + s.value, 0);
  expect(received(after)).toBe(received(before) + 4 * 5);
}, 40000);

test('a rolling reload (every worker and service replaced) leaves every counter series at or above its earlier value', async () => {
  const { server, port } = await startCluster({ services: { echo: ECHO } });
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(port, '/echo')));
  await traffic(clients, 30);
  const before = await scrape(port);
  const oldWorkers = server.stats().workers.map((w) => `worker-${w.id}`);
  await server.reload();
  const fresh = await Promise.all(Array.from({ length: 2 }, () => connect(port, '/echo')));
  await traffic(fresh, 5);
  const after = await scrape(port);
  const { dips, ended } = compare(before, after, oldWorkers);
  expect(dips).toEqual([]);
  expect(ended).toBeGreaterThan(0);
}, 40000);
