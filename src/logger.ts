/**
 * One structured logger for every process of the cluster: JSON lines on
 * stdout, each tagged with the role and pid of the process that wrote it.
 * A field of a log call named like one of those tags (the master logging a
 * child's `pid`) would repeat the key in the line, which JSON readers
 * resolve differently (most keep the last): it is renamed `child<Key>`
 * (`childPid`), or dropped when it only repeats the tag's value.
 */
import pino from 'pino';
import { prettyDestination } from './log-pretty';
import type { LogLevel } from './options';

export type Logger = pino.Logger;

export type ProcessRole = 'master' | 'worker' | 'service';

/** Where the lines go: stdout as JSON by default. */
export interface LogOutput {
  /** Through pino-pretty (`logPretty`); it must be installed. Default `false`. */
  readonly pretty?: boolean;
  /** Another destination (tests). */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(level: LogLevel, role: ProcessRole, bindings: Record<string, unknown> = {}, output: LogOutput = {}): Logger {
  const base: Record<string, unknown> = { role, pid: process.pid, ...bindings };
  const options: pino.LoggerOptions = { level, base, formatters: { log: (object) => withoutBaseKeys(object, base) } };
  const destination = output.destination ?? (output.pretty === true ? prettyDestination() : undefined);
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** `object` with no key of `base`: repeats dropped, others renamed `child<Key>`. Allocates only when a key collides. */
export function withoutBaseKeys(object: Record<string, unknown>, base: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keys = Object.keys(object);
  if (!keys.some((key) => Object.hasOwn(base, key))) return object;
  const result: Record<string, unknown> = {};
  for (const key of keys) {
    const value = object[key];
    if (!Object.hasOwn(base, key)) result[key] = value;
    else if (value !== base[key]) result[`child${key[0]?.toUpperCase() ?? ''}${key.slice(1)}`] = value;
  }
  return result;
}
