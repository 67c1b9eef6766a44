/**
 * The metrics registry of one process, with its event-loop lag and
 * prom-client's default process metrics (CPU, memory, heap, event loop, GC:
 * `PROCESS_METRICS` in names.ts), all labelled with the process. Each
 * process keeps its own; the master gathers their JSON snapshots and
 * aggregates them with prom-client's AggregatorRegistry when /metrics is
 * scraped.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../protocol';
import { METRICS, type MetricKey } from './names';

export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly delay: IntervalHistogram;

  constructor(readonly processName: string) {
    this.delay = monitorEventLoopDelay({ resolution: 20 });
    this.delay.enable();
    const delay = this.delay;
    this.gauge('eventLoopLag', function collect(this: Gauge) {
      this.set({ process: processName }, delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
      delay.reset();
    });
    // Read at scrape time, except the GC observer and prom-client's own event-loop histogram (sampled at the same 20 ms as ours).
    collectDefaultMetrics({ register: this.registry, labels: { process: processName }, eventLoopMonitoringPrecision: 20 });
  }

  counter(key: MetricKey, collect?: (this: Counter) => void): Counter {
    const spec = METRICS[key];
    return new Counter({ name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  gauge(key: MetricKey, collect?: (this: Gauge) => void): Gauge {
    const spec = METRICS[key];
    return new Gauge({ name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  histogram(key: MetricKey, buckets: number[]): Histogram {
    const spec = METRICS[key];
    return new Histogram({ name: spec.name, help: spec.help, labelNames: [...spec.labels], buckets, registers: [this.registry] });
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  close(): void {
    this.delay.disable();
  }
}

/**
 * Plain numbers counted on hot paths, by label values joined into a key
 * (`\u0000`-separated, in `labelNames` order); turned into a prom-client
 * metric only when scraped, so counting costs a string and a map update.
 */
export class Tally {
  private readonly values = new Map<string, number>();

  constructor(private readonly labelNames: readonly string[]) {}

  /** Adds to the series whose label values are `values` (in `labelNames` order). */
  add(first: string, second?: string, amount = 1): void {
    const key = second === undefined ? first : `${first}\u0000${second}`;
    this.values.set(key, (this.values.get(key) ?? 0) + amount);
  }

  /** Writes the totals into `metric` (reset first, so values are absolute); `fixed` labels are added to each series. */
  publish(metric: Counter | Gauge, fixed: Record<string, string> = {}): void {
    metric.reset();
    for (const [key, value] of this.values) {
      const labels: Record<string, string> = { ...fixed };
      key.split('\u0000').forEach((part, i) => {
        labels[this.labelNames[i] as string] = part;
      });
      if (metric instanceof Gauge) metric.set(labels, value);
      else metric.inc(labels, value);
    }
  }
}

/** Renders snapshots of every process as one Prometheus text exposition. */
export async function renderCluster(snapshots: readonly MetricsSnapshot[]): Promise<{ contentType: string; body: string }> {
  const registry = AggregatorRegistry.aggregate(snapshots as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
