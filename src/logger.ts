/**
 * One structured logger for every process of the cluster: JSON lines on
 * stdout, each tagged with the role and pid of the process that wrote it.
 */
import pino from 'pino';
import type { LogLevel } from './options';

export type Logger = pino.Logger;

export type ProcessRole = 'master' | 'worker' | 'service';

export function createLogger(level: LogLevel, role: ProcessRole, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { role, pid: process.pid, ...bindings } });
}
