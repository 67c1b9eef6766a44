import { createHistogram, decodeHistogram, encodeHistogram } from '../src/histogram';
import { addCounts, mergeResults, type ShardResult } from '../src/result';
import { TimeFifo } from '../src/scenarios/echo';
import { formatResult } from '../src/report';
import { benchOptions } from '../src/options';

function shard(values: number[], overrides: Partial<ShardResult> = {}): ShardResult {
  const histogram = createHistogram();
  for (const value of values) histogram.recordValue(value);
  return {
    scenario: 'echo', connections: 10, opened: 10, messages: values.length, sent: values.length, windowMs: 1000, connectMs: 50,
    missed: 0, published: 0, withoutEnd: 0, lastSeqSumWithoutEnd: 0, errors: {}, closeCodes: {}, cpuMicros: 500_000,
    histogram: encodeHistogram(histogram), ...overrides,
  };
}

test('a histogram survives encoding', () => {
  const histogram = createHistogram();
  for (let i = 1; i <= 1000; i++) histogram.recordValue(i);
  const copy = decodeHistogram(encodeHistogram(histogram));
  expect(copy.totalCount).toBe(1000);
  expect(copy.getValueAtPercentile(50)).toBe(histogram.getValueAtPercentile(50));
});

test('shards merge: counts add, histograms merge, CPU sums over processes', () => {
  const low = Array.from({ length: 900 }, () => 100);
  const high = Array.from({ length: 100 }, () => 10_000);
  const result = mergeResults([
    shard(low, { errors: { ECONNRESET: 1 }, closeCodes: { 1006: 1 } }),
    shard(high, { errors: { ECONNRESET: 2, 'HTTP 503': 1 }, windowMs: 1000 }),
  ]);
  expect(result.procs).toBe(2);
  expect(result.connections).toBe(20);
  expect(result.messages).toBe(1000);
  expect(result.messagesPerSecond).toBe(1000);
  expect(result.errors).toEqual({ ECONNRESET: 3, 'HTTP 503': 1 });
  expect(result.errorCount).toBe(4);
  expect(result.closeCodes).toEqual({ 1006: 1 });
  expect(result.latencyUs.count).toBe(1000);
  expect(result.latencyUs.p50).toBe(100);
  expect(result.latencyUs.p99).toBeGreaterThanOrEqual(9990);
  // 0.5 s of CPU in each of two processes over a 1 s window: 100% of one core.
  expect(result.generatorCpuPercent).toBeCloseTo(100);
});

test('fanout subscribers without the end marker count as missing the tail', () => {
  const result = mergeResults([
    shard([], { scenario: 'fanout', published: 50, missed: 2 }),
    shard([], { scenario: 'fanout', withoutEnd: 2, lastSeqSumWithoutEnd: 70 }),
  ]);
  expect(result.published).toBe(50);
  expect(result.missed).toBe(2 + (2 * 50 - 70));
});

test('addCounts', () => {
  expect(addCounts({ a: 1 }, { a: 2, b: 3 })).toEqual({ a: 3, b: 3 });
});

test('the report names every figure', () => {
  const text = formatResult(benchOptions({ scenario: 'echo', url: 'ws://127.0.0.1:1/echo' }), mergeResults([shard([100, 200])]));
  for (const word of ['replies/s', 'p50', 'p99.9', 'errors', 'close codes', 'generator CPU']) expect(text).toContain(word);
});

test('the send-time FIFO keeps order while it grows', () => {
  const fifo = new TimeFifo(2);
  for (let i = 0; i < 5; i++) fifo.push(i);
  expect(fifo.shift()).toBe(0);
  fifo.push(5);
  fifo.push(6);
  expect([1, 2, 3, 4, 5, 6].map(() => fifo.shift())).toEqual([1, 2, 3, 4, 5, 6]);
  expect(fifo.shift()).toBeNaN();
});
