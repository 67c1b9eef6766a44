/**
 * A real pino logger whose lines are kept in memory, for tests that check
 * what was logged (and how often), not only what was done.
 */
import pino from 'pino';
import type { Logger } from '../../src/logger';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface RecordingLogger {
  readonly log: Logger;
  readonly lines: LogLine[];
  /** The lines at `warn` (pino level 40) whose message is `msg`. */
  warnings(msg: string): LogLine[];
}

export function recordingLogger(level: pino.LevelWithSilent = 'debug'): RecordingLogger {
  const lines: LogLine[] = [];
  // pino writes each line with one synchronous write() to its destination.
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines, warnings: (msg) => lines.filter((line) => line.level === 40 && line.msg === msg) };
}
