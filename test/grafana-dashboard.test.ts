/**
 * docs/grafana-dashboard.json queries only metrics Switchyard documents: the
 * names table (METRICS) and prom-client's process metrics (PROCESS_METRICS),
 * histograms through their `_bucket`, `_sum` and `_count` series.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { METRICS, PROCESS_METRICS } from '../src/metrics/names';

interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(readFileSync(path.join(__dirname, '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };

/** PromQL functions, aggregations and keywords: what an identifier in a query may be besides a metric. */
const PROMQL_WORDS = new Set(['sum', 'by', 'without', 'rate', 'increase', 'irate', 'histogram_quantile', 'avg', 'max', 'min', 'count', 'topk', 'le', 'on', 'ignoring', 'offset']);

/** The metric names a PromQL expression selects: identifiers outside label matchers, `{{legends}}` and ranges that are not PromQL words. */
function metricsIn(expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/"[^"]*"/g, '');
  const words = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  // Labels named in by (...) / without (...) are not metrics.
  const grouped = new Set([...bare.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((label) => label.trim())));
  return words.filter((word) => !PROMQL_WORDS.has(word) && !grouped.has(word));
}

/** Every documented series name: the tables' names, and for histograms (by their type in docs/metrics.md) their three series. */
function documented(): Set<string> {
  const docs = readFileSync(path.join(__dirname, '..', 'docs', 'metrics.md'), 'utf8');
  const histograms = new Set([...docs.matchAll(/^\| `([a-z0-9_]+)` \| histogram \|/gm)].map((m) => m[1] as string));
  const names = new Set<string>();
  for (const { name } of [...Object.values(METRICS), ...PROCESS_METRICS]) {
    names.add(name);
    if (histograms.has(name)) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

test('the extractor finds the metrics of a query, not its functions or labels', () => {
  expect(metricsIn('histogram_quantile(0.99, sum by (le, service) (rate(switchyard_message_delivery_seconds_bucket{service="chat"}[5m])))')).toEqual([
    'switchyard_message_delivery_seconds_bucket',
  ]);
  expect(metricsIn('rate(process_cpu_seconds_total[1m]) / on (process) process_max_fds')).toEqual(['process_cpu_seconds_total', 'process_max_fds']);
});

test('every metric the dashboard queries is a documented one', () => {
  const known = documented();
  expect(known.has('nodejs_gc_duration_seconds_sum')).toBe(true);
  expect(known.has('switchyard_event_loop_lag_seconds_sum')).toBe(false);
  expect(known.has('nodejs_eventloop_lag_seconds_total')).toBe(false);
  const queried = dashboard.panels.flatMap((panel) => (panel.targets ?? []).flatMap((target) => metricsIn(target.expr).map((name) => `${panel.title}: ${name}`)));
  expect(queried.length).toBeGreaterThan(15);
  expect(queried.filter((entry) => !known.has(entry.slice(entry.lastIndexOf(': ') + 2)))).toEqual([]);
});

test('it shows process metrics for every process: CPU, memory, event loop and GC', () => {
  const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join('\n');
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds_sum']) expect(exprs).toContain(name);
});
