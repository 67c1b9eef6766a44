import * as path from 'node:path';
import { workerOfClientId } from '../../src/client-id';
import { closeAll, connect, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';
import { parsePrometheus, total } from '../helpers/prometheus';

afterEach(closeAll);

const services = { req: path.join(FIXTURES, 'requests.ts') };

async function joined(port: number): Promise<{ client: TestClient; id: string; worker: number }> {
  const client = await connect(port, '/req');
  const { id } = await client.json<{ id: string }>((m) => m.type === 'welcome');
  return { client, id, worker: workerOfClientId(id) as number };
}

async function metrics(port: number): Promise<ReturnType<typeof parsePrometheus>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await response.text());
}

test('topics: publish reaches subscribers on every worker, and only workers with a subscriber', async () => {
  const { port, server } = await startCluster({ services });
  // Connect until each of the two workers holds two clients (round-robin makes that quick).
  const [workerA, workerB] = server.stats().workers.map((w) => w.id) as [number, number];
  const onA: Array<Awaited<ReturnType<typeof joined>>> = [];
  const onB: Array<Awaited<ReturnType<typeof joined>>> = [];
  for (let tries = 0; (onA.length < 2 || onB.length < 2) && tries < 20; tries++) {
    const next = await joined(port);
    if (next.worker === workerA && onA.length < 2) onA.push(next);
    else if (next.worker === workerB && onB.length < 2) onB.push(next);
    else next.client.socket.close();
  }
  expect([onA.length, onB.length]).toEqual([2, 2]);

  // Topic "news": subscribers on both workers. Topic "a-only": a subscriber on worker A only.
  for (const c of [onA[0], onB[0]]) {
    c?.client.socket.send('sub:news');
    await c?.client.json((m) => m.type === 'subscribed' && m.topic === 'news');
  }
  onA[1]?.client.socket.send('sub:a-only');
  await onA[1]?.client.json((m) => m.type === 'subscribed' && m.count === 1);

  const publisher = onB[1] as { client: TestClient };
  publisher.client.socket.send('pub:news:hello');
  expect(await publisher.client.json((m) => m.type === 'published')).toMatchObject({ to: 2 });
  await onA[0]?.client.received(3);
  await onB[0]?.client.received(3);
  expect(onA[0]?.client.messages.at(-1)).toBe('hello');
  expect(onB[0]?.client.messages.at(-1)).toBe('hello');

  const before = await metrics(port);
  const publishesTo = (samples: ReturnType<typeof parsePrometheus>, worker: number): number =>
    total(samples, 'switchyard_ipc_received_total', { process: `worker-${worker}`, type: 'publish' });
  for (let i = 0; i < 10; i++) publisher.client.socket.send(`pub:a-only:m${i}`);
  await onA[1]?.client.received(2 + 10);
  expect(onA[1]?.client.messages.slice(2)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  const after = await metrics(port);
  expect(publishesTo(after, workerA) - publishesTo(before, workerA)).toBe(10);
  expect(publishesTo(after, workerB) - publishesTo(before, workerB)).toBe(0);

  // A topic without subscribers costs no IPC at all.
  publisher.client.socket.send('pub:nobody:x');
  expect(await publisher.client.json((m) => m.type === 'published' && m.to === 0)).toBeDefined();

  // Subscriptions vanish when the client closes: counts drop cluster-wide.
  const counter = onB[0] as { client: TestClient };
  onA[0]?.client.socket.close();
  await onA[0]?.client.closed;
  await new Promise<void>((resolve) => {
    const ask = (): void => {
      counter.client.messages.length = 0;
      counter.client.socket.send('count:news');
      void counter.client.json<{ count: number }>((m) => m.type === 'count').then((reply) => (reply.count === 1 ? resolve() : ask()));
    };
    ask();
  });
  expect(server.stats().routing.foreignAddressDrops).toBe(0);
});

test('/metrics parses as Prometheus text and its counts match the traffic sent', async () => {
  const { port, server } = await startCluster({ services: { echo: path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts') } });
  const clients = await Promise.all([connect(port, '/echo'), connect(port, '/echo'), connect(port, '/echo')]);
  const perClient = 20;
  for (const client of clients) for (let i = 0; i < perClient; i++) client.socket.send(`m${i}`);
  await Promise.all(clients.map((client) => client.received(perClient)));
  clients[0]?.socket.close(4001, 'done');
  await clients[0]?.closed;
  await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'hi' }).then((r) => r.text());
  const samples = await metrics(port);
  expect(total(samples, 'switchyard_messages_received_total', { service: 'echo' })).toBe(3 * perClient);
  expect(total(samples, 'switchyard_messages_sent_total', { service: 'echo' })).toBe(3 * perClient);
  expect(total(samples, 'switchyard_received_bytes_total', { service: 'echo' })).toBe(3 * (10 * 2 + 10 * 3));
  expect(total(samples, 'switchyard_connections_opened_total', { service: 'echo' })).toBe(3);
  expect(total(samples, 'switchyard_connections_current', { service: 'echo' })).toBe(2);
  // Client-chosen codes are reported as "other", keeping the label's values bounded.
  expect(total(samples, 'switchyard_connections_closed_total', { service: 'echo', code: 'other' })).toBe(1);
  expect(total(samples, 'switchyard_http_requests_total', { service: 'echo', status: '200' })).toBe(1);
  expect(total(samples, 'switchyard_service_requests_total', { service: 'echo', transport: 'http', outcome: 'ok' })).toBe(1);
  expect(total(samples, 'switchyard_restarts_total')).toBe(0);
  expect(total(samples, 'switchyard_process_up')).toBe(3);
  // 60 messages, 1 in 8 sampled per worker: at least 6 land in the delivery histogram.
  expect(total(samples, 'switchyard_message_delivery_seconds_count', { service: 'echo' })).toBeGreaterThanOrEqual(6);
  const lagProcesses = samples.filter((s) => s.name === 'switchyard_event_loop_lag_seconds').map((s) => s.labels.process).sort();
  const workers = server.stats().workers.map((w) => `worker-${w.id}`);
  expect(lagProcesses).toEqual(['master', 'service-echo', ...workers].sort());
});
