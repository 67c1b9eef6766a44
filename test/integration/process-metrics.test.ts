import * as path from 'node:path';
import { closeAll, FIXTURES, startCluster } from '../helpers/cluster';
import { parsePrometheus, type Sample } from '../helpers/prometheus';

afterEach(closeAll);

const EVERY_PROCESS = ['master', 'service-echo', 'worker-<id>', 'worker-<id>'];

/** The processes reporting `name`; worker ids shown as `<id>`, since node:cluster numbers workers per process (earlier tests' workers count too). */
function processesWith(samples: readonly Sample[], name: string): string[] {
  return samples
    .filter((sample) => sample.name === name)
    .map((sample) => (sample.labels.process as string).replace(/^worker-\d+$/, 'worker-<id>'))
    .sort();
}

test('/metrics carries the process metrics of every process, each with its process label', async () => {
  const { port } = await startCluster({ workers: 2, services: { echo: path.join(FIXTURES, '..', '..', 'src', 'services', 'examples', 'echo.ts') } });
  // A process that has not answered a gather yet (a loaded machine, just after the start) is missing from that scrape: scrape again, one at a time.
  let samples: Sample[] = [];
  for (const deadline = Date.now() + 15000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    samples = parsePrometheus(await response.text());
    if (processesWith(samples, 'process_resident_memory_bytes').length === EVERY_PROCESS.length) break;
  }
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    expect([name, processesWith(samples, name)]).toEqual([name, EVERY_PROCESS]);
  }
  for (const sample of samples.filter((s) => s.name === 'process_resident_memory_bytes')) expect(sample.value).toBeGreaterThan(10 * 1024 * 1024);
}, 30000);
