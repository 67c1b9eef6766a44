/** The soak's report (markdown) and its verdict. */
import type { ChaosEventRecord } from '../../src/chaos/controller';
import { harmful, type DamageCounts } from '../../src/chaos/damage';
import { formatChaos } from '../../src/chaos/report';
import type { LatencySummary } from '../../src/histogram';
import type { ChaosCounts, Counts } from '../../src/result';
import type { ChurnCounts } from './churn-load';
import type { FanoutCounts } from './fanout-load';
import type { HttpCounts } from './http-load';
import { cycleMeans, rssTrends, type RssSample, type RssTrend } from './rss';
import type { SoakFlags } from './soak';

/** Most a role's RSS may grow (least-squares slope) per 10 minutes over the judged window. */
export const RSS_SLOPE_LIMIT_MB = 5;
/** The judged window: the last 10 minutes, or the last third of a shorter run. */
export const RSS_WINDOW_MS = 10 * 60_000;

export interface SoakResult {
  readonly options: SoakFlags;
  readonly events: readonly ChaosEventRecord[];
  readonly echo: ChaosCounts;
  readonly echoErrors: Counts;
  /** Index 0: before the first event, then one per event. */
  readonly fanout: readonly FanoutCounts[];
  readonly fanoutLatencyUs: LatencySummary;
  /** The fan-out numbers most missed: by how many subscriber sessions, and during which event. */
  readonly fanoutMissed: ReadonlyArray<{ readonly seq: number; readonly subscribers: number; readonly event: number }>;
  readonly churn: readonly ChurnCounts[];
  readonly churnLatencyUs: LatencySummary;
  readonly churnRefusals: Counts;
  readonly http: readonly HttpCounts[];
  readonly httpLatencyUs: LatencySummary;
  readonly samples: readonly RssSample[];
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** `30`, `1.5`: minutes for titles. */
export function minutes(durationMs: number): string {
  return (durationMs / 60_000).toFixed(1).replace(/\.0$/, '');
}

function ms(us: number): string {
  return (us / 1000).toFixed(1);
}

function sum<T extends object>(items: readonly T[], field: keyof T): number {
  return items.reduce((total, item) => total + (item[field] as unknown as number), 0);
}

function statuses(items: readonly HttpCounts[]): Counts {
  const all: Counts = {};
  for (const item of items) for (const [key, value] of Object.entries(item.statuses)) all[key] = (all[key] ?? 0) + value;
  return all;
}

function counts(values: Counts): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}: ${n(value)}`).join(', ');
}

export function judgedFromMs(result: SoakResult): number {
  return result.options.durationMs - Math.min(RSS_WINDOW_MS, result.options.durationMs / 3);
}

export function rssVerdict(result: SoakResult): { readonly trends: RssTrend[]; readonly flat: boolean } {
  const trends = rssTrends(result.samples, judgedFromMs(result)).filter((trend) => trend.role !== 'generator');
  return { trends, flat: trends.every((trend) => trend.slopeMbPer10Min <= RSS_SLOPE_LIMIT_MB) };
}

function fanoutHarm(items: readonly FanoutCounts[]): number {
  return sum(items, 'missed') + sum(items, 'reordered') + sum(items, 'duplicatesUnmarked');
}

/** Whether the soak passed (the echo part's own verdict is chaosPassed). */
export function soakPassed(result: SoakResult): boolean {
  return harmful(result.echo.total) === 0 && fanoutHarm(result.fanout) === 0 && sum(result.churn, 'lost') === 0 && result.events.every((event) => event.recoveredMs !== undefined) && rssVerdict(result).flat;
}

function perEventTable(result: SoakResult): string {
  const header = ['event', 'fan-out published', 'delivered', 'missed', 'cut', 'reordered', 'dup marked', 'dup unmarked', 'reconnects', 'churn ok', 'refused', 'cut', 'lost', 'http ok', 'http other'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  const rows = Math.max(result.fanout.length, result.churn.length, result.http.length);
  for (let i = 0; i < rows; i++) {
    const f = result.fanout[i];
    const c = result.churn[i];
    const h = result.http[i];
    const label = i === 0 ? '0 (before)' : `${i} ${result.events[i - 1]?.kind ?? ''}`;
    lines.push(`| ${[label, n(f?.published ?? 0), n(f?.delivered ?? 0), n(f?.missed ?? 0), n(f?.cut ?? 0), n(f?.reordered ?? 0), n(f?.duplicatesMarked ?? 0), n(f?.duplicatesUnmarked ?? 0), n(f?.reconnects ?? 0), n(c?.answered ?? 0), n(c?.refused ?? 0), n(c?.cut ?? 0), n(c?.lost ?? 0), n(h?.ok ?? 0), h === undefined ? '0' : counts({ ...h.statuses, ...(h.failed > 0 ? { failed: h.failed } : {}) })].join(' | ')} |`);
  }
  return lines.join('\n');
}

function rssTable(result: SoakResult): string {
  const { trends } = rssVerdict(result);
  const lines = ['| process | first MB | last MB | max MB | slope MB / 10 min (judged window) |', '| --- | --- | --- | --- | --- |'];
  for (const trend of trends) lines.push(`| ${trend.role} | ${trend.firstMb.toFixed(1)} | ${trend.lastMb.toFixed(1)} | ${trend.maxMb.toFixed(1)} | ${trend.slopeMbPer10Min.toFixed(2)} |`);
  return lines.join('\n');
}

/** Mean RSS per reload cycle (informative: the verdict is the slope above). */
function cycleTable(result: SoakResult): string {
  const reloads = result.events.filter((event) => event.kind === 'reload').map((event) => event.index);
  if (reloads.length === 0) return '';
  const cycles = cycleMeans(result.samples, reloads);
  const roles = [...new Set(cycles.flatMap((cycle) => Object.keys(cycle.meanMb)))].filter((role) => role !== 'server total').concat('server total');
  const lines = [`| cycle (from reload) | samples | ${roles.join(' | ')} |`, `| --- | --- | ${roles.map(() => '---').join(' | ')} |`];
  for (const cycle of cycles) lines.push(`| ${cycle.cycle === 0 ? '0 (before the first)' : String(cycle.cycle)} | ${cycle.samples} | ${roles.map((role) => cycle.meanMb[role]?.toFixed(1) ?? '-').join(' | ')} |`);
  return `Mean RSS (MB) per cycle between reloads — a worker's sawtooth averages out over a whole cycle, so growth across cycles is what a leak would show:\n\n${lines.join('\n')}\n`;
}

/** Every 6th sample (once a minute at the default 10 s), as a compact table of the server's processes. */
function rssOverTime(result: SoakResult, every = 6): string {
  const roles = [...new Set(result.samples.flatMap((sample) => Object.keys(sample.rss)))].filter((role) => role !== 'generator').sort();
  const lines = [`| t min | event | ${roles.join(' | ')} |`, `| --- | --- | ${roles.map(() => '---').join(' | ')} |`];
  result.samples.forEach((sample, i) => {
    if (i % every !== 0 && i !== result.samples.length - 1) return;
    lines.push(`| ${(sample.tMs / 60_000).toFixed(1)} | ${sample.event} | ${roles.map((role) => (sample.rss[role] === undefined ? '-' : (sample.rss[role] / (1024 * 1024)).toFixed(1))).join(' | ')} |`);
  });
  return lines.join('\n');
}

export function formatSoakReport(result: SoakResult): string {
  const o = result.options;
  const e: DamageCounts = result.echo.total;
  const rss = rssVerdict(result);
  const lines = [
    `# Soak: ${minutes(o.durationMs)} min, ${o.workers} workers`,
    '',
    `Load: echo ${n(o.echoConnections)} connections at ${n(o.echoRate)} msgs/s (numbered); fan-out ${n(o.fanoutSubscribers)} subscribers × ${n(o.fanoutRate)} msgs/s; churn ${n(o.churnRate)} connections/s (one echo each); HTTP ${n(o.httpRate)} POST /services/echo per s. Chaos every ${o.intervalMs / 1000} s: ${result.events.filter((ev) => ev.kind === 'service').length} service SIGKILLs (echo and fanout in turn), ${result.events.filter((ev) => ev.kind === 'reload').length} reloads (SIGHUP).`,
    '',
    '## Echo, per chaos event',
    '',
    formatChaos(result.echo),
    '',
    `echo errors: ${counts(result.echoErrors)}`,
    '',
    '## Fan-out, churn and HTTP, per chaos event',
    '',
    perEventTable(result),
    '',
    `Fan-out numbers missed (most missed first, at most 20): ${result.fanoutMissed.length === 0 ? 'none' : result.fanoutMissed.map((m) => `#${m.seq} by ${m.subscribers} (event ${m.event})`).join(', ')}.`,
    `Latency p99 / max (ms): echo ${ms(result.echo.totalLatencyUs.p99)} / ${ms(result.echo.totalLatencyUs.max)}; fan-out delivery ${ms(result.fanoutLatencyUs.p99)} / ${ms(result.fanoutLatencyUs.max)}; churn connect + round trip ${ms(result.churnLatencyUs.p99)} / ${ms(result.churnLatencyUs.max)}; HTTP ${ms(result.httpLatencyUs.p99)} / ${ms(result.httpLatencyUs.max)}.`,
    `Churn refusals: ${counts(result.churnRefusals)}. HTTP answers other than 200: ${counts(statuses(result.http))}; no answer: ${n(sum(result.http, 'failed'))}.`,
    '',
    '## RSS',
    '',
    rssTable(result),
    '',
    `Judged window: from ${(judgedFromMs(result) / 60_000).toFixed(1)} min to the end; flat means every slope ≤ ${RSS_SLOPE_LIMIT_MB} MB per 10 min. Workers are replaced at each reload and service instances at each kill, so their rows follow successive processes in one role.`,
    '',
    rssOverTime(result),
    '',
    cycleTable(result),
    '## Verdict',
    '',
    `echo: ${n(e.lost)} lost, ${n(e.reordered)} reordered, ${n(e.duplicatesUnmarked)} unmarked duplicates (${n(e.duplicatesMarked)} marked, ${n(e.cut)} cut by ${n(e.disconnects)} disconnects); fan-out: ${n(sum(result.fanout, 'missed'))} missed, ${n(sum(result.fanout, 'reordered'))} reordered, ${n(sum(result.fanout, 'duplicatesUnmarked'))} unmarked duplicates (${n(sum(result.fanout, 'cut'))} cut at the publisher's disconnects); churn: ${n(sum(result.churn, 'lost'))} lost; events recovered: ${result.events.filter((ev) => ev.recoveredMs !== undefined).length} of ${result.events.length}; RSS ${rss.flat ? 'flat' : 'NOT flat'}.`,
    `**${soakPassed(result) ? 'PASS' : 'FAIL'}**`,
  ];
  return lines.join('\n');
}
