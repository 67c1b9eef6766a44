/** The `--chaos` part of a bench report: one line per chaos event and a verdict. */
import type { LatencySummary } from '../histogram';
import type { ChaosCounts } from '../result';
import { harmful, type DamageCounts } from './damage';

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function ms(us: number): string {
  return (us / 1000).toFixed(1);
}

const HEADER = ['event', 'at s', 'target', 'recovered', 'sent', 'answered', 'lost', 'reordered', 'dup marked', 'dup unmarked', 'redelivered', 'cut', 'disconnects', 'reconnects', 'p99 ms', 'max ms'];

function row(label: string, at: string, target: string, recovered: string, counts: DamageCounts, latency: LatencySummary | undefined): string[] {
  return [label, at, target, recovered, n(counts.sent), n(counts.answered), n(counts.lost), n(counts.reordered), n(counts.duplicatesMarked), n(counts.duplicatesUnmarked), n(counts.redelivered), n(counts.cut), n(counts.disconnects), n(counts.reconnects), latency === undefined ? '-' : ms(latency.p99), latency === undefined ? '-' : ms(latency.max)];
}

/** A markdown table, one row per event (row 0: before the first), then the totals and a verdict line. */
export function formatChaos(chaos: ChaosCounts): string {
  const events = chaos.events ?? [];
  const rows: string[][] = [];
  const empty = { sent: 0, answered: 0, redelivered: 0, reordered: 0, duplicatesMarked: 0, duplicatesUnmarked: 0, lost: 0, cut: 0, unsolicited: 0, disconnects: 0, reconnects: 0 };
  rows.push(row('0 (before)', '0', '-', '-', chaos.damage[0] ?? empty, chaos.latencyUs[0]));
  for (const event of events) {
    const recovered = event.recoveredMs !== undefined ? `${n(Math.round(event.recoveredMs))} ms` : `no: ${event.error ?? 'unknown'}`;
    rows.push(row(`${event.index} ${event.kind}`, (event.atMs / 1000).toFixed(1), event.target, recovered, chaos.damage[event.index] ?? empty, chaos.latencyUs[event.index]));
  }
  rows.push(row('total', '-', '-', '-', chaos.total, chaos.totalLatencyUs));
  const lines = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map(() => '---').join(' | ')} |`, ...rows.map((cells) => `| ${cells.join(' | ')} |`)];
  const failures = Object.entries(chaos.reconnectFailures);
  if (failures.length > 0) lines.push(`reconnect attempts failed: ${failures.map(([reason, count]) => `${reason}: ${count}`).join(', ')}`);
  if (chaos.total.unsolicited > 0) lines.push(`replies to messages never sent: ${n(chaos.total.unsolicited)} (is the service an echo?)`);
  lines.push(chaosVerdict(chaos));
  return lines.join('\n');
}

/** `PASS`/`FAIL` with the counts that decide it. */
export function chaosVerdict(chaos: ChaosCounts): string {
  const t = chaos.total;
  const unrecovered = (chaos.events ?? []).filter((event) => event.recoveredMs === undefined).length;
  const ok = harmful(t) === 0 && unrecovered === 0;
  return `${ok ? 'PASS' : 'FAIL'}: ${n(t.lost)} lost, ${n(t.reordered)} reordered, ${n(t.duplicatesUnmarked)} unmarked duplicates, ${n(t.unsolicited)} unsolicited; ${(chaos.events ?? []).length - unrecovered} of ${(chaos.events ?? []).length} events recovered (${n(t.duplicatesMarked)} marked duplicates and ${n(t.cut)} messages cut by ${n(t.disconnects)} disconnects are expected)`;
}

/** Whether a chaos run passed: nothing lost, reordered or duplicated unmarked, and every event recovered. */
export function chaosPassed(chaos: ChaosCounts): boolean {
  return harmful(chaos.total) === 0 && (chaos.events ?? []).every((event) => event.recoveredMs !== undefined);
}
