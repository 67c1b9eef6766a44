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

function isCounterSeries(sample: Sample): boolean {
  return /_(total|count|sum|bucket)$/.test(sample.name);
}

function seriesKey(sample: Sample): string {
  const labels = Object.entries(sample.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${sample.name}{${labels}}`;
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

  // Series labelled with the dead worker's own name end with it: its id is never reused, so they can
  // never be read as a reset. Every other series must be there and must not have gone down.
  const ended = `worker-${victim?.id}`;
  const later = new Map(after.map((sample) => [seriesKey(sample), sample.value]));
  const dips: string[] = [];
  let compared = 0;
  for (const sample of before.filter(isCounterSeries)) {
    const key = seriesKey(sample);
    if (sample.labels.process === ended || sample.labels.peer === ended) {
      expect(later.has(key)).toBe(false);
      continue;
    }
    compared++;
    const value = later.get(key);
    if (value === undefined || value < sample.value) dips.push(`${key}: ${sample.value} -> ${value ?? 'missing'}`);
  }
  expect(dips).toEqual([]);
  expect(compared).toBeGreaterThan(20);
  // The totals really carried the dead processes' counts, and the new traffic is on top.
  const received = (samples: readonly Sample[]): number =>
    samples.filter((s) => s.name === 'switchyard_messages_received_total' && s.labels.service === 'echo').reduce((sum, s) => sum + s.value, 0);
  expect(received(after)).toBe(received(before) + 4 * 5);
}, 40000);
