/**
 * One structured logger for every process of the cluster: JSON lines on
 * stdout, each tagged with the role and pid of the process that wrote it.
 * A field of a log call named like one of those tags (the master logging a
 * child's `pid`) would repeat the key in the line, which JSON readers
 * resolve differently (most keep the last): it is renamed `child<Key>`
 * (`childPid`), or dropped when it only repeats the tag's value.
 */
import { format } from 'node:util';
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
  /** Fields added to every line at the moment it is written (a service process: the client whose handler is running). */
  readonly mixin?: () => Record<string, unknown>;
}

export function createLogger(level: LogLevel, role: ProcessRole, bindings: Record<string, unknown> = {}, output: LogOutput = {}): Logger {
  const base: Record<string, unknown> = { role, pid: process.pid, ...bindings };
  const options: pino.LoggerOptions = { level, base, formatters: { log: (object) => withoutBaseKeys(object, base) } };
  if (output.mixin !== undefined) options.mixin = output.mixin;
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

/** The console methods a child process's user code may call, and the level each is logged at. */
const CONSOLE_LEVELS = { log: 'info', info: 'info', debug: 'debug', warn: 'warn', error: 'error' } as const;

/**
 * Routes `console.log`/`info`/`debug`/`warn`/`error` of a worker or service
 * process (user code: services, the authenticator, the HTTP app) into its
 * logger, so that stdout holds only JSON lines (or only pretty ones): the
 * text, formatted as console formats it, is the line's `msg`, and `console`
 * names the method. Never in the master, whose process may be the
 * embedding application's.
 */
export function captureConsole(log: Logger): void {
  for (const [method, level] of Object.entries(CONSOLE_LEVELS) as Array<[keyof typeof CONSOLE_LEVELS, (typeof CONSOLE_LEVELS)[keyof typeof CONSOLE_LEVELS]]>) {
    console[method] = (...args: unknown[]): void => {
      if (log.isLevelEnabled(level)) log[level]({ console: method }, format(...args));
    };
  }
}
