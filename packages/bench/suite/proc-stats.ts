/**
 * Server cost from /proc: CPU time (utime + stime) and RSS of a process and
 * all its descendants, so a multi-process server is charged for every process.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** Clock ticks in user and kernel mode. */
  readonly utime: number;
  readonly stime: number;
}

/** Parses one /proc/<pid>/stat line. The command name may hold spaces and parentheses, so fields count from its last ')'. */
export function parseStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  // After ')': state(3) ppid(4) … utime(14) stime(15), 1-based as in proc(5).
  const fields = line.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(fields[n - 3]);
  const stat = { pid: Number(line.slice(0, open).trim()), comm: line.slice(open + 1, close), ppid: field(4), utime: field(14), stime: field(15) };
  if (![stat.pid, stat.ppid, stat.utime, stat.stime].every(Number.isFinite)) throw new Error(`malformed /proc stat line: ${line.slice(0, 80)}`);
  return stat;
}

/** VmRSS from a /proc/<pid>/status text, in bytes; 0 when absent (a zombie). */
export function parseVmRss(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime and stime. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // it exited meanwhile
  }
}

/** `root` and every process descended from it, right now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat.pid);
    children.set(stat.ppid, siblings);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** CPU seconds (user + system) used so far by `root` and its descendants. */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat !== undefined) ticks += stat.utime + stat.stime;
  }
  return ticks / ticksPerSecond();
}

/** Resident memory of `root` and its descendants, in bytes. */
export function treeRssBytes(root: number): number {
  let bytes = 0;
  for (const pid of processTree(root)) {
    try {
      bytes += parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      // it exited meanwhile
    }
  }
  return bytes;
}
