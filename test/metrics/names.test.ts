import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { METRICS, PROCESS_METRICS } from '../../src/metrics/names';
import { ProcessMetrics } from '../../src/metrics/process-metrics';

const specs = Object.values(METRICS);

test('metric names follow Prometheus conventions', () => {
  for (const spec of specs) {
    expect(spec.name).toMatch(/^switchyard_[a-z_]+[a-z]$/);
    expect(spec.help.length).toBeGreaterThan(10);
    for (const label of spec.labels) expect(label).toMatch(/^[a-z][a-z_]*$/);
  }
  expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
  // Counters end in _total; nothing else does; units are base units.
  for (const name of ['connectionsOpened', 'connectionsClosed', 'messagesReceived', 'messagesSent', 'bytesReceived', 'bytesSent', 'restarts', 'ipcDropped'] as const) {
    expect(METRICS[name].name).toMatch(/_total$/);
  }
  for (const spec of specs) if (/bytes|seconds/.test(spec.name)) expect(spec.name).toMatch(/_(bytes_total|seconds|bytes)$/);
});

test('every metric is documented in docs/metrics.md with its labels', () => {
  const docs = readFileSync(path.join(__dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
  for (const spec of specs) {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${spec.name}\` |`));
    expect(row).toBeDefined();
    for (const label of spec.labels) expect(row).toContain(label);
  }
});

test('the process metrics table is what prom-client registers in every process, labelled by process', async () => {
  const metrics = new ProcessMetrics('worker-1');
  try {
    const snapshot = (await metrics.snapshot()) as unknown as { name: string; type: string; values: { value: number; labels: Record<string, unknown> }[] }[];
    const defaults = snapshot.filter((metric) => !metric.name.startsWith('switchyard_'));
    expect(defaults.map((metric) => metric.name).sort()).toEqual(PROCESS_METRICS.map((metric) => metric.name).sort());
    for (const metric of defaults) {
      const row = PROCESS_METRICS.find((entry) => entry.name === metric.name);
      expect([metric.name, metric.type]).toEqual([metric.name, row?.type]);
      for (const value of metric.values) expect([metric.name, value.labels.process]).toEqual([metric.name, 'worker-1']);
    }
    const rss = defaults.find((metric) => metric.name === 'process_resident_memory_bytes');
    expect(rss?.values[0]?.value).toBeGreaterThan(0);
  } finally {
    metrics.close();
  }
});

test('every process metric is documented in docs/metrics.md with its labels', () => {
  const docs = readFileSync(path.join(__dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
  for (const spec of PROCESS_METRICS) {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${spec.name}\` |`));
    expect([spec.name, row !== undefined]).toEqual([spec.name, true]);
    for (const label of spec.labels) expect(row).toContain(label);
  }
});
