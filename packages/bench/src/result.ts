/**
 * What one generator process measured (`ShardResult`, plain JSON so it can
 * cross IPC) and the merge of several into one `BenchResult`.
 */
import type { ChaosEventRecord } from './chaos/controller';
import { addDamage, emptyDamage, type DamageCounts } from './chaos/damage';
import type { Scenario } from './options';
import { createHistogram, decodeHistogram, encodeHistogram, summarize, type Histogram, type LatencySummary } from './histogram';

export type Counts = Record<string, number>;

/** What a shard counted under `--chaos`: per chaos event (index 0: before the first), the damage and the latency of first replies. */
export interface ChaosShardResult {
  readonly damage: readonly DamageCounts[];
  readonly histograms: readonly string[];
  /** Failed attempts to reopen a connection the server closed, by reason. */
  readonly reconnectFailures: Counts;
}

/** The merged `ChaosShardResult` of every shard. */
export interface ChaosCounts {
  readonly damage: readonly DamageCounts[];
  readonly latencyUs: readonly LatencySummary[];
  readonly total: DamageCounts;
  readonly totalLatencyUs: LatencySummary;
  readonly reconnectFailures: Counts;
  /** Every chaos event, as the controller ran it (set by runBench). */
  readonly events?: readonly ChaosEventRecord[];
}

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
  /** echo under `--chaos` only. */
  readonly chaos?: ChaosShardResult;
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
  /** echo under `--chaos` only. */
  readonly chaos?: ChaosCounts;
}

export function addCounts(into: Counts, from: Readonly<Counts>): Counts {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  return into;
}

export function countOf(counts: Readonly<Counts>): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

/** Adds up the shards' per-event damage and merges their per-event histograms; `undefined` when no shard ran under `--chaos`. */
export function mergeChaos(shards: readonly (ChaosShardResult | undefined)[]): ChaosCounts | undefined {
  const present = shards.filter((shard): shard is ChaosShardResult => shard !== undefined);
  if (present.length === 0) return undefined;
  const events = Math.max(...present.map((shard) => Math.max(shard.damage.length, shard.histograms.length)));
  const damage = Array.from({ length: events }, () => emptyDamage());
  const histograms = Array.from({ length: events }, () => createHistogram());
  const all = createHistogram();
  const reconnectFailures: Counts = {};
  for (const shard of present) {
    shard.damage.forEach((counts, index) => addDamage(damage[index] as DamageCounts, counts));
    shard.histograms.forEach((encoded, index) => {
      const part = decodeHistogram(encoded);
      (histograms[index] as Histogram).add(part);
      all.add(part);
    });
    addCounts(reconnectFailures, shard.reconnectFailures);
  }
  return {
    damage,
    latencyUs: histograms.map(summarize),
    total: damage.reduce((sum, counts) => addDamage(sum, counts), emptyDamage()),
    totalLatencyUs: summarize(all),
    reconnectFailures,
  };
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
  const chaos = mergeChaos(shards.map((shard) => shard.chaos));
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
    ...(chaos === undefined ? {} : { chaos }),
  };
}

export { encodeHistogram };
