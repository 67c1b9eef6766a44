/**
 * `logPretty` (`--log-pretty`, `SWITCHYARD_LOG_PRETTY=true`): log lines
 * through pino's own pretty printer, for a developer's terminal. pino-pretty
 * is an optional peer dependency, loaded only when asked for, so a
 * production install neither needs nor loads it; `resolveOptions()` refuses
 * the option with an install hint when it is missing.
 */
import type pino from 'pino';

export const PRETTY_MODULE = 'pino-pretty';

/** Whether pino-pretty can be loaded from here (`resolve` is `require.resolve`, replaceable in tests). */
export function prettyInstalled(resolve: (id: string) => string = require.resolve): boolean {
  try {
    resolve(PRETTY_MODULE);
    return true;
  } catch {
    return false;
  }
}

/**
 * A synchronous pino-pretty stream on stdout: each line written before the
 * process moves on, like pino's own default destination (a worker thread
 * per process, pino's transport, would be too much for a development aid).
 */
export function prettyDestination(): pino.DestinationStream {
  const build = require(PRETTY_MODULE) as (options: object) => pino.DestinationStream;
  return build({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' });
}
