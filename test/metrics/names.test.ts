import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { METRICS } from '../../src/metrics/names';

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
