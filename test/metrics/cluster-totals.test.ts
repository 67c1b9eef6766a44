import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClusterTotals } from '../../src/metrics/cluster-totals';
import { renderCluster } from '../../src/metrics/process-metrics';
import type { MetricsSnapshot } from '../../src/protocol';
import { parsePrometheus, total } from '../helpers/prometheus';

/** A snapshot as one process would send it: a counter, a gauge and a histogram of its own. */
async function processSnapshot(processName: string, counts: { messages: number; open: number; latencies: number[] }): Promise<MetricsSnapshot> {
  const registry = new Registry();
  new Counter({ name: 'switchyard_messages_total', help: 'm', labelNames: ['service'], registers: [registry] }).inc({ service: 'echo' }, counts.messages);
  new Counter({ name: 'switchyard_ipc_total', help: 'i', labelNames: ['process'], registers: [registry] }).inc({ process: processName }, counts.messages);
  new Gauge({ name: 'switchyard_open', help: 'o', labelNames: ['service'], registers: [registry] }).set({ service: 'echo' }, counts.open);
  const histogram = new Histogram({ name: 'switchyard_latency_seconds', help: 'l', labelNames: ['service'], buckets: [0.01, 0.1], registers: [registry] });
  for (const latency of counts.latencies) histogram.observe({ service: 'echo' }, latency);
  return registry.getMetricsAsJSON();
}

async function render(totals: ClusterTotals): Promise<ReturnType<typeof parsePrometheus>> {
  return parsePrometheus((await renderCluster(totals.snapshots())).body);
}

test('an exited instance keeps its counters and histogram in the totals, not its gauges', async () => {
  const totals = new ClusterTotals();
  totals.record('worker-1', await processSnapshot('worker-1', { messages: 10, open: 3, latencies: [0.005, 0.05] }));
  totals.record('worker-2', await processSnapshot('worker-2', { messages: 5, open: 2, latencies: [0.5] }));
  const before = await render(totals);
  expect(total(before, 'switchyard_messages_total')).toBe(15);
  expect(total(before, 'switchyard_open')).toBe(5);

  totals.retire('worker-1');
  expect(totals.instances).toBe(1);
  const after = await render(totals);
  expect(total(after, 'switchyard_messages_total', { service: 'echo' })).toBe(15);
  expect(total(after, 'switchyard_open')).toBe(2);
  expect(total(after, 'switchyard_latency_seconds_count')).toBe(3);
  expect(total(after, 'switchyard_latency_seconds_bucket', { le: '0.01' })).toBe(1);
  expect(total(after, 'switchyard_latency_seconds_bucket', { le: '0.1' })).toBe(2);
  expect(total(after, 'switchyard_latency_seconds_bucket', { le: '+Inf' })).toBe(3);
  expect(total(after, 'switchyard_latency_seconds_sum')).toBeCloseTo(0.555);
  // The dead worker's own process-labelled series end with it; the live one's stay.
  expect(after.filter((s) => s.labels.process === 'worker-1')).toEqual([]);
  expect(total(after, 'switchyard_ipc_total', { process: 'worker-2' })).toBe(5);
});

test("a service's instances add up under its one process label", async () => {
  const totals = new ClusterTotals();
  totals.record('service-echo.1', await processSnapshot('service-echo', { messages: 7, open: 0, latencies: [] }));
  totals.retire('service-echo.1');
  totals.retire('service-echo.1');
  totals.record('service-echo.2', await processSnapshot('service-echo', { messages: 2, open: 0, latencies: [] }));
  totals.retire('service-echo.2');
  totals.record('service-echo.3', await processSnapshot('service-echo', { messages: 1, open: 0, latencies: [] }));
  const samples = await render(totals);
  expect(total(samples, 'switchyard_ipc_total', { process: 'service-echo' })).toBe(10);
  expect(total(samples, 'switchyard_messages_total')).toBe(10);
});

test('an instance never scraped, or retired twice, adds nothing; malformed snapshots are skipped', async () => {
  const totals = new ClusterTotals();
  totals.retire('worker-9');
  expect(totals.snapshots()).toEqual([]);
  totals.record('worker-1', [
    null,
    'nonsense',
    { name: 'switchyard_a_total', type: 'counter', values: 'no' },
    { name: 'switchyard_b_total', type: 'counter', help: 'b', values: [{ value: 'x', labels: {} }, { value: Infinity, labels: {} }, { value: 2, labels: { deep: {} } }, { value: 4, labels: {} }] },
  ]);
  totals.retire('worker-1');
  expect(totals.retiredSnapshot()).toEqual([{ name: 'switchyard_b_total', help: 'b', type: 'counter', aggregator: 'sum', values: [{ value: 4, labels: {} }] }]);
});
