/** Human-readable and JSON forms of a bench result, and the live progress line. */
import { formatChaos } from './chaos/report';
import type { BenchOptions } from './options';
import type { BenchResult, Counts } from './result';

function fixed(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function counts(values: Readonly<Counts>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}: ${value}`).join(', ');
}

function ms(us: number): string {
  return `${fixed(us / 1000, 2)} ms`;
}

export function formatResult(options: BenchOptions, result: BenchResult): string {
  const lines = [`switchyard bench ${result.scenario} → ${options.url}`];
  lines.push(`  connections   ${fixed(result.opened)} open of ${fixed(result.connections)} (${result.procs} generator process${result.procs === 1 ? '' : 'es'})`);
  if (result.scenario === 'connect') {
    lines.push(`  connects/s    ${fixed(result.connectsPerSecond)} (${fixed(result.connectMs)} ms for all), held ${options.hold} s`);
  } else {
    const what = result.scenario === 'echo' ? 'replies' : 'deliveries';
    lines.push(`  ${what}/s${' '.repeat(Math.max(1, 12 - what.length))}${fixed(result.messagesPerSecond)} (${fixed(result.messages)} in ${fixed(result.windowMs / 1000, 1)} s after ${options.warmup} s warm-up; ${fixed(result.sent)} sent)`);
    const l = result.latencyUs;
    lines.push(`  latency       p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}`);
  }
  if (result.scenario === 'fanout') lines.push(`  missed        ${fixed(result.missed)} over all subscribers (${fixed(result.published)} published)`);
  lines.push(`  errors        ${fixed(result.errorCount)} (${counts(result.errors)})`);
  lines.push(`  close codes   ${counts(result.closeCodes)} (from the server, before the generator closed)`);
  if (result.chaos !== undefined) lines.push(`  chaos         ${options.chaos?.kinds.join(',') ?? ''} every ${(options.chaos?.intervalMs ?? 0) / 1000} s (latency: first replies, whole run)`, formatChaos(result.chaos));
  lines.push(`  generator CPU ${fixed(result.generatorCpuPercent)}% of one core over ${result.procs} process${result.procs === 1 ? '' : 'es'}${result.generatorCpuPercent > 90 * result.procs ? ' — saturated: the client may be the bottleneck' : ''}`);
  return lines.join('\n');
}

export function formatJson(options: BenchOptions, result: BenchResult): string {
  return JSON.stringify({ options, result }, null, 2);
}

/** A progress line rewritten in place on a TTY. */
export class ProgressLine {
  private readonly started = performance.now();
  private last = 0;

  constructor(private readonly scenario: string, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(count: number): void {
    const now = performance.now();
    if (now - this.last < 250) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    this.stream.write(`\r\x1b[K${this.scenario}: ${seconds.toFixed(1)} s, ${count.toLocaleString('en-US')} ${this.scenario === 'connect' ? 'connections' : 'messages'}`);
  }

  done(): void {
    this.stream.write('\r\x1b[K');
  }
}
