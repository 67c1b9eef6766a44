/**
 * RSS of every server process over a soak: sampled from `/proc/<pid>/status`
 * for the processes `/healthz` lists, by role (master, worker slot, service),
 * so a role keeps its column when its process is replaced; and the flatness
 * verdict, a least-squares slope over the last part of the run.
 */
import { readFileSync } from 'node:fs';
import type { HealthSnapshot } from '../../src/chaos/health';
import { parseVmRss } from '../proc-stats';

export interface RssSample {
  /** ms since the soak's load started. */
  readonly tMs: number;
  /** The chaos event under way. */
  readonly event: number;
  /** Bytes by role (`master`, `worker 1` … by id order, `service <name>`, `generator`). */
  readonly rss: Readonly<Record<string, number>>;
}

function rssOf(pid: number): number | undefined {
  try {
    return parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined; // exited meanwhile
  }
}

/** One sample of the processes in `snapshot`, plus this (generator) process. */
export function sampleRss(snapshot: HealthSnapshot, tMs: number, event: number): RssSample {
  const rss: Record<string, number> = {};
  const workers = snapshot.processes.filter((p) => p.kind === 'worker').sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  for (const p of snapshot.processes) {
    if (p.pid === undefined) continue;
    const role = p.kind === 'master' ? 'master' : p.kind === 'worker' ? `worker ${workers.indexOf(p) + 1}` : `service ${p.name ?? '?'}`;
    const bytes = rssOf(p.pid);
    // Two instances of one service (a reload's hand-over) add up.
    // 0: a zombie not yet reaped (a killed instance), no memory of its own.
    if (bytes !== undefined && bytes > 0) rss[role] = (rss[role] ?? 0) + bytes;
  }
  rss.generator = process.memoryUsage().rss;
  return { tMs, event, rss };
}

/** Least-squares slope of `points` (x ms, y bytes), in bytes per minute; 0 with fewer than 2 points. */
export function slopePerMinute(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0, den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

/** The roles seen in any sample, in a stable order. */
export function rolesOf(samples: readonly RssSample[]): string[] {
  const roles = new Set<string>();
  for (const sample of samples) for (const role of Object.keys(sample.rss)) roles.add(role);
  const order = (role: string): number => (role === 'master' ? 0 : role.startsWith('worker') ? 1 : role.startsWith('service') ? 2 : 3);
  return [...roles].sort((a, b) => order(a) - order(b) || a.localeCompare(b, 'en', { numeric: true }));
}

/** The server's total (every role but the generator). */
export function serverTotal(sample: RssSample): number {
  return Object.entries(sample.rss).reduce((sum, [role, bytes]) => (role === 'generator' ? sum : sum + bytes), 0);
}

export interface RssTrend {
  readonly role: string;
  readonly firstMb: number;
  readonly lastMb: number;
  readonly maxMb: number;
  /** Slope over the judged window, MB per 10 minutes. */
  readonly slopeMbPer10Min: number;
}

/** Trends per role and for the server total over samples at `fromMs` or later. */
export function rssTrends(samples: readonly RssSample[], fromMs: number): RssTrend[] {
  const judged = samples.filter((sample) => sample.tMs >= fromMs);
  const mb = (bytes: number): number => bytes / (1024 * 1024);
  const trend = (role: string, value: (sample: RssSample) => number | undefined): RssTrend => {
    const all = samples.map(value).filter((v): v is number => v !== undefined);
    const points = judged.flatMap((sample) => {
      const v = value(sample);
      return v === undefined ? [] : [[sample.tMs, v] as const];
    });
    return {
      role,
      firstMb: mb(all[0] ?? 0),
      lastMb: mb(all[all.length - 1] ?? 0),
      maxMb: mb(Math.max(0, ...all)),
      slopeMbPer10Min: mb(slopePerMinute(points)) * 10,
    };
  };
  return [...rolesOf(samples).map((role) => trend(role, (sample) => sample.rss[role])), trend('server total', serverTotal)];
}

/**
 * Mean RSS per role (and of the server total) over each cycle between
 * reloads: cycle 0 is before the first reload event, cycle c from the c-th on.
 * A role whose processes are replaced at every reload rises and falls in a
 * sawtooth; its mean over whole cycles is what can show growth across them.
 */
export function cycleMeans(samples: readonly RssSample[], reloadEvents: readonly number[]): Array<{ readonly cycle: number; readonly samples: number; readonly meanMb: Readonly<Record<string, number>> }> {
  const cycleOf = (event: number): number => reloadEvents.filter((index) => event >= index).length;
  const byCycle = new Map<number, RssSample[]>();
  for (const sample of samples) {
    const cycle = cycleOf(sample.event);
    byCycle.set(cycle, [...(byCycle.get(cycle) ?? []), sample]);
  }
  const roles = rolesOf(samples).filter((role) => role !== 'generator');
  return [...byCycle.entries()].sort(([a], [b]) => a - b).map(([cycle, group]) => {
    const meanMb: Record<string, number> = {};
    const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length / (1024 * 1024);
    for (const role of roles) {
      const values = group.flatMap((sample) => (sample.rss[role] === undefined ? [] : [sample.rss[role] as number]));
      if (values.length > 0) meanMb[role] = mean(values);
    }
    meanMb['server total'] = mean(group.map(serverTotal));
    return { cycle, samples: group.length, meanMb };
  });
}

/** The samples as CSV: seconds, event, MB per role, server total. */
export function rssCsv(samples: readonly RssSample[]): string {
  const roles = rolesOf(samples);
  const lines = [['t_s', 'event', ...roles.map((role) => `${role.replace(/ /g, '_')}_mb`), 'server_total_mb'].join(',')];
  for (const sample of samples) {
    const cells = roles.map((role) => (sample.rss[role] === undefined ? '' : (sample.rss[role] / (1024 * 1024)).toFixed(1)));
    lines.push([(sample.tMs / 1000).toFixed(0), String(sample.event), ...cells, (serverTotal(sample) / (1024 * 1024)).toFixed(1)].join(','));
  }
  return `${lines.join('\n')}\n`;
}
