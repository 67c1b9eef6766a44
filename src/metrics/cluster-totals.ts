/**
 * What keeps the cluster's counters from going backwards. `/metrics` sums the
 * snapshots of the processes; a counter that dips reads to Prometheus as a
 * reset (and `rate()` overcounts), so the processes that are gone, or too slow
 * for one scrape, must not take their counts out of the sum:
 *
 * - each live process instance's latest snapshot is kept, and reused when it
 *   misses a scrape's deadline;
 * - when an instance exits, the counters of its latest snapshot (counters, and
 *   a histogram's buckets, sum and count) are folded into a retired total that
 *   is rendered with every scrape. Gauges are not carried over: a process that
 *   is gone has no open connections.
 *
 * What an instance counted between its last scrape and its death is lost: the
 * totals stay monotonic but may undercount by that much. Asking every process
 * for a snapshot on a timer would narrow the gap at a cost paid even when no
 * one scrapes, and would still not close it for a SIGKILL.
 *
 * Snapshots come from other processes: they are read defensively, and what
 * does not look like prom-client's JSON is skipped.
 */
import type { MetricsSnapshot } from '../protocol';

/** One series of a retired metric, as prom-client's JSON writes it. */
interface SeriesValue {
  value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

interface RetiredMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  /** Series by metricName and labels. */
  readonly series: Map<string, SeriesValue>;
}

/** The metric types whose values only grow: the ones folded on exit. */
const MONOTONIC_TYPES: ReadonlySet<string> = new Set(['counter', 'histogram']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLabels(value: unknown): value is Record<string, string | number> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number');
}

/** Stable key of one series: prom-client orders labels as it recorded them, so sort them here. */
function seriesKey(metricName: string | undefined, labels: Readonly<Record<string, string | number>>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${String(labels[name])}`);
  return `${metricName ?? ''}\u0000${parts.join('\u0000')}`;
}

export class ClusterTotals {
  private readonly latest = new Map<string, MetricsSnapshot>();
  private readonly retired = new Map<string, RetiredMetric>();

  /** Instances with a snapshot kept. */
  get instances(): number {
    return this.latest.size;
  }

  /** Keeps `snapshot` as the latest of the live process instance `instance`. */
  record(instance: string, snapshot: MetricsSnapshot): void {
    this.latest.set(instance, snapshot);
  }

  /**
   * The instance exited: the counters of its latest snapshot join the retired
   * totals, and it is no longer rendered itself. Series labelled with the
   * instance's own name as `process` end with it instead of being kept: a
   * worker (`worker-<id>`, an id node:cluster never reuses) would otherwise add
   * series that never change again with every restart. A service's instances
   * are named apart from its `process="service-<name>"` label, which its next
   * instance continues, so those series are kept.
   */
  retire(instance: string): void {
    const snapshot = this.latest.get(instance);
    this.latest.delete(instance);
    if (snapshot === undefined) return;
    for (const metric of snapshot) this.fold(metric, instance);
  }

  /** Every snapshot to aggregate: each live instance's latest, then the retired totals. */
  snapshots(): MetricsSnapshot[] {
    const all: MetricsSnapshot[] = [...this.latest.values()];
    if (this.retired.size > 0) all.push(this.retiredSnapshot());
    return all;
  }

  /** The retired totals as one snapshot in prom-client's JSON form. */
  retiredSnapshot(): MetricsSnapshot {
    return [...this.retired.values()].map((metric) => ({
      name: metric.name,
      help: metric.help,
      type: metric.type,
      aggregator: 'sum',
      values: [...metric.series.values()].map((series) => ({ ...series })),
    }));
  }

  private fold(metric: unknown, endingProcess: string): void {
    if (!isRecord(metric) || typeof metric.name !== 'string' || typeof metric.type !== 'string' || !Array.isArray(metric.values)) return;
    if (!MONOTONIC_TYPES.has(metric.type)) return;
    let retired = this.retired.get(metric.name);
    if (retired === undefined) {
      retired = { name: metric.name, help: typeof metric.help === 'string' ? metric.help : metric.name, type: metric.type as RetiredMetric['type'], series: new Map() };
      this.retired.set(metric.name, retired);
    }
    for (const value of metric.values as unknown[]) {
      if (!isRecord(value) || typeof value.value !== 'number' || !Number.isFinite(value.value) || !isLabels(value.labels)) continue;
      if (value.labels.process === endingProcess) continue;
      const metricName = typeof value.metricName === 'string' ? value.metricName : undefined;
      const key = seriesKey(metricName, value.labels);
      const series = retired.series.get(key);
      if (series !== undefined) series.value += value.value;
      else retired.series.set(key, { value: value.value, labels: { ...value.labels }, ...(metricName === undefined ? {} : { metricName }) });
    }
  }
}
