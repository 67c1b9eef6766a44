/** Medians, ratios and the markdown table of the suite. */
import type { RowSpec, RunOutcome } from './suite-scenarios';

export interface SideRuns {
  readonly label: string;
  readonly outcomes: readonly RunOutcome[];
  /** Messages of runs that threw. */
  readonly failures: readonly string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function mib(bytes: number): string {
  return `${format(bytes / 1024 / 1024)} MiB`;
}

function errorsOf(side: SideRuns): string {
  const totals: Record<string, number> = {};
  for (const outcome of side.outcomes) for (const [reason, count] of Object.entries(outcome.errors)) totals[reason] = (totals[reason] ?? 0) + count;
  const parts = Object.entries(totals).map(([reason, count]) => `${reason}: ${count}`);
  for (const failure of side.failures) parts.push(`run failed: ${failure}`);
  return parts.join('; ');
}

export interface Cell {
  readonly text: string;
  readonly value: number;
  readonly cost: string;
  readonly errors: string;
  readonly unavailable?: string;
}

export function cell(side: SideRuns | undefined, row: RowSpec): Cell {
  if (side === undefined) return { text: '—', value: Number.NaN, cost: '—', errors: '' };
  const unavailable = side.outcomes.find((outcome) => outcome.unavailable !== undefined)?.unavailable;
  if (unavailable !== undefined) return { text: unavailable, value: Number.NaN, cost: '—', errors: '', unavailable };
  const value = median(side.outcomes.map((outcome) => outcome.figures[row.figure]).filter((v): v is number => typeof v === 'number'));
  const cpu = median(side.outcomes.map((outcome) => outcome.cpuSeconds));
  const rss = median(side.outcomes.map((outcome) => outcome.rssBytes));
  const runs = `${side.outcomes.length} run${side.outcomes.length === 1 ? '' : 's'}`;
  return {
    text: Number.isFinite(value) ? `${format(value)} ${row.unit}` : 'failed',
    value,
    cost: Number.isFinite(cpu) ? `${format(cpu)} s / ${mib(rss)} (${runs})` : '—',
    errors: errorsOf(side),
  };
}

/**
 * One markdown table line for `row`. With `withSocketIo` (the suite's
 * `--socketio`) three columns stand before the errors: the Socket.IO cluster's
 * figure, Switchyard / Socket.IO, and its server cost; `socketio` is undefined
 * for rows it does not run. The target and result stay versus the baseline.
 */
export function tableLine(row: RowSpec, switchyard: SideRuns, baseline: SideRuns | undefined, withSocketIo = false, socketio?: SideRuns): string {
  const a = cell(switchyard, row);
  const b = cell(baseline, row);
  let ratio = '—';
  let met: string;
  const failuresOk = row.zeroFailures !== true || a.errors === '';
  if (a.unavailable !== undefined) {
    met = 'not available';
  } else if (row.goal === 'pass') {
    met = a.value === row.target && a.errors === '' ? 'pass' : 'fail';
  } else if (row.goal === 'under') {
    met = Number.isFinite(a.value) && a.value <= row.target && a.errors === '' ? 'pass' : 'fail';
  } else if (Number.isFinite(a.value) && Number.isFinite(b.value) && b.value > 0) {
    const r = a.value / b.value;
    ratio = r.toFixed(2);
    met = row.goal === 'info' ? 'reported' : (row.goal === 'min' ? r >= row.target : r <= row.target) && failuresOk ? 'met' : 'not met';
  } else {
    met = 'could not run';
  }
  const target = targetText(row);
  const c = cell(socketio, row);
  const notes = [
    a.errors === '' ? '' : `Switchyard errors: ${a.errors}`,
    b.errors === '' ? '' : `baseline errors: ${b.errors}`,
    c.errors === '' ? '' : `Socket.IO errors: ${c.errors}`,
  ].filter((n) => n !== '').join('; ');
  const columns = [row.label, a.text, b.text, ratio, target, met, a.cost, b.cost];
  if (withSocketIo) {
    const versus = a.unavailable === undefined && Number.isFinite(a.value) && Number.isFinite(c.value) && c.value > 0 ? (a.value / c.value).toFixed(2) : '—';
    columns.push(c.text, versus, c.cost);
  }
  columns.push(notes.replace(/\|/g, '/'));
  return `| ${columns.join(' | ')} |`;
}

function targetText(row: RowSpec): string {
  switch (row.goal) {
    case 'pass':
      return 'pass/fail';
    case 'under':
      return `≤ ${format(row.target)} ${row.unit}`;
    case 'info':
      return '—';
    case 'min':
    case 'max':
      return `${row.goal === 'min' ? '≥' : '≤'} ${row.target}${row.zeroFailures === true ? ', zero failures' : ''}`;
    default: {
      const unreachable: never = row.goal;
      throw new Error(`unknown goal ${String(unreachable)}`);
    }
  }
}

/** The table header; `withSocketIo` adds the Socket.IO columns (see `tableLine`). */
export function tableHeader(withSocketIo = false): string {
  const names = ['scenario', 'Switchyard', 'baseline', 'ratio', 'target', 'result', 'Switchyard server CPU s / RSS', 'baseline server CPU s / RSS'];
  if (withSocketIo) names.push('Socket.IO cluster', 'Switchyard / Socket.IO', 'Socket.IO server CPU s / RSS');
  names.push('errors');
  return [`| ${names.join(' | ')} |`, `|${names.map(() => ' --- |').join('')}`].join('\n');
}

export const TABLE_HEADER = tableHeader(false);
