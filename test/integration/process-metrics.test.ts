import * as path from 'node:path';
import { closeAll, FIXTURES, startCluster } from '../helpers/cluster';
import { parsePrometheus } from '../helpers/prometheus';

afterEach(closeAll);

test('/metrics carries the process metrics of every process, each with its process label', async () => {
  const { port } = await startCluster({ workers: 2, services: { echo: path.join(FIXTURES, '..', '..', 'src', 'services', 'examples', 'echo.ts') } });
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  const samples = parsePrometheus(await response.text());
  const processesWith = (name: string): string[] =>
    samples
      .filter((sample) => sample.name === name)
      .map((sample) => sample.labels.process as string)
      .sort();
  const everyProcess = ['master', 'service-echo', 'worker-1', 'worker-2'];
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    expect([name, processesWith(name)]).toEqual([name, everyProcess]);
  }
  for (const sample of samples.filter((s) => s.name === 'process_resident_memory_bytes')) expect(sample.value).toBeGreaterThan(10 * 1024 * 1024);
});
