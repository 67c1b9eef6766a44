import { parseHealth } from '../../src/chaos/health';
import { cycleMeans, rssCsv, rssTrends, sampleRss, slopePerMinute, type RssSample } from '../../suite/soak/rss';
import { soakKinds } from '../../suite/soak/soak';

const MB = 1024 * 1024;

test('the soak rotation: service kills with every n-th event a reload', () => {
  expect(soakKinds(5)).toEqual(['service', 'service', 'service', 'service', 'reload']);
  expect(soakKinds(1)).toEqual(['reload']);
  expect(soakKinds(0)).toEqual(['service']);
});

test('slope is least squares in bytes per minute', () => {
  expect(slopePerMinute([[0, 100], [60_000, 200], [120_000, 300]])).toBeCloseTo(100);
  expect(slopePerMinute([[0, 5]])).toBe(0);
  // Noise around a flat line gives a slope near zero.
  expect(Math.abs(slopePerMinute([[0, 10], [10_000, 12], [20_000, 9], [30_000, 11], [40_000, 10]]))).toBeLessThan(5);
});

test('trends per role over the judged window, and the server total without the generator', () => {
  const samples: RssSample[] = [0, 1, 2, 3].map((minute) => ({
    tMs: minute * 60_000,
    event: minute,
    rss: { master: 50 * MB, 'worker 1': (60 + minute) * MB, generator: 500 * MB },
  }));
  const trends = rssTrends(samples, 60_000);
  expect(trends.map((trend) => trend.role)).toEqual(['master', 'worker 1', 'generator', 'server total']);
  expect(trends[0]?.slopeMbPer10Min).toBeCloseTo(0);
  expect(trends[1]?.slopeMbPer10Min).toBeCloseTo(10);
  expect(trends[3]).toMatchObject({ firstMb: 110, lastMb: 113, maxMb: 113 });
  expect(rssCsv(samples).split('\n')[0]).toBe('t_s,event,master_mb,worker_1_mb,generator_mb,server_total_mb');
});

test('a sample names workers by their order, sums a service\'s instances and skips processes that are gone', () => {
  const health = parseHealth(200, JSON.stringify({ processes: [
    { kind: 'master', pid: process.pid, state: 'listening' },
    { kind: 'worker', id: 7, pid: process.pid, state: 'online' },
    { kind: 'worker', id: 3, pid: 2 ** 22 + 1, state: 'online' }, // above pid_max: not running
    { kind: 'service', name: 'echo', pid: process.pid, state: 'online' },
    { kind: 'service', name: 'echo', pid: process.pid, state: 'online' },
  ] }));
  const sample = sampleRss(health, 1000, 0);
  expect(Object.keys(sample.rss).sort()).toEqual(['generator', 'master', 'service echo', 'worker 2']);
  expect(sample.rss['service echo']).toBeGreaterThan(sample.rss.master as number);
});

test('cycle means average each role between reloads', () => {
  const samples: RssSample[] = [
    { tMs: 0, event: 0, rss: { 'worker 1': 60 * MB } },
    { tMs: 1, event: 1, rss: { 'worker 1': 70 * MB } },
    { tMs: 2, event: 2, rss: { 'worker 1': 60 * MB } }, // event 2 is the reload: a new cycle
    { tMs: 3, event: 3, rss: { 'worker 1': 80 * MB } },
  ];
  expect(cycleMeans(samples, [2])).toEqual([
    { cycle: 0, samples: 2, meanMb: { 'worker 1': 65, 'server total': 65 } },
    { cycle: 1, samples: 2, meanMb: { 'worker 1': 70, 'server total': 70 } },
  ]);
});
