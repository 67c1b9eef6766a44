/**
 * What one generator process measured (`ShardResult`, plain JSON so it can
 * cross IPC) and the merge of several into one `BenchResult`.
 */
import type { Scenario } from './options';
import { createHistogram, decodeHistogram, encodeHistogram, summarize, type Histogram, type LatencySummary } from './histogram';

export type Counts = Record<string, number>;

export interface ShardResult {
  readonly scenario: Scenario;
  /** Connections (subscribers) this shard was asked to open / actually opened. */
  readonly connections: number;
  readonly opened: number;
  /** echo: replies timed in the window; fanout: deliveries in the window; connect: connections opened. */
  readonly messages: number;
  /** Messages sent in the window (echo requests, fanout publishes). */
  readonly sent: number;
  /** Measured window, ms. */
  readonly windowMs: number;
  /** connect: ms from the first attempt to the last open. */
  readonly connectMs: number;
  /** fanout: messages a subscriber should have had but did not get, summed over subscribers. */
  readonly missed: number;
  /** fanout: the publisher's message count (shard 0 only), to account for subscribers that never saw the end marker. */
  readonly published: number;
  /** fanout: subscribers without the end marker, and the sum of the last sequence number each of them saw. */
  readonly withoutEnd: number;
  readonly lastSeqSumWithoutEnd: number;
  /** Failures by reason (error code, HTTP status, "timeout", unexpected close). */
  readonly errors: Counts;
  /** Close codes seen from the server before this generator started closing. */
  readonly closeCodes: Counts;
  /** user+system CPU of this process during the window, µs. */
  readonly cpuMicros: number;
  readonly histogram: string;
}

export interface BenchResult {
  readonly scenario: Scenario;
  readonly procs: number;
  readonly connections: number;
  readonly opened: number;
  readonly messages: number;
  readonly sent: number;
  readonly windowMs: number;
  /** Messages (echo replies, fanout deliveries) per second in the window. */
  readonly messagesPerSecond: number;
  readonly connectsPerSecond: number;
  readonly connectMs: number;
  readonly missed: number;
  readonly published: number;
  readonly errors: Counts;
  readonly errorCount: number;
  readonly closeCodes: Counts;
  /** Generator CPU as % of one core, summed over its processes. */
  readonly generatorCpuPercent: number;
  readonly latencyUs: LatencySummary;
}

export function addCounts(into: Counts, from: Readonly<Counts>): Counts {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  return into;
}

export function countOf(counts: Readonly<Counts>): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

/** Merges shard results: counts add up, histograms merge exactly, the window is the longest. */
export function mergeResults(shards: readonly ShardResult[]): BenchResult {
  if (shards.length === 0) throw new Error('mergeResults needs at least one shard result');
  const histogram: Histogram = createHistogram();
  const errors: Counts = {};
  const closeCodes: Counts = {};
  let connections = 0, opened = 0, messages = 0, sent = 0, windowMs = 0, connectMs = 0, missed = 0, published = 0, cpuMicros = 0;
  let withoutEnd = 0, lastSeqSum = 0;
  for (const shard of shards) {
    connections += shard.connections;
    opened += shard.opened;
    messages += shard.messages;
    sent += shard.sent;
    windowMs = Math.max(windowMs, shard.windowMs);
    connectMs = Math.max(connectMs, shard.connectMs);
    missed += shard.missed;
    published = Math.max(published, shard.published);
    withoutEnd += shard.withoutEnd;
    lastSeqSum += shard.lastSeqSumWithoutEnd;
    cpuMicros += shard.cpuMicros;
    addCounts(errors, shard.errors);
    addCounts(closeCodes, shard.closeCodes);
    if (shard.histogram !== '') {
      const part = decodeHistogram(shard.histogram);
      histogram.add(part);
    }
  }
  // Subscribers that never saw the end marker missed everything after their last sequence number.
  missed += Math.max(0, withoutEnd * published - lastSeqSum);
  const scenario = (shards[0] as ShardResult).scenario;
  const wallMs = scenario === 'connect' ? connectMs : windowMs;
  return {
    scenario,
    procs: shards.length,
    connections,
    opened,
    messages,
    sent,
    windowMs,
    messagesPerSecond: windowMs > 0 ? (messages * 1000) / windowMs : 0,
    connectsPerSecond: connectMs > 0 ? (opened * 1000) / connectMs : 0,
    connectMs,
    missed,
    published,
    errors,
    errorCount: countOf(errors),
    closeCodes,
    generatorCpuPercent: wallMs > 0 ? cpuMicros / 10 / wallMs : 0,
    latencyUs: summarize(histogram),
  };
}

export { encodeHistogram };
