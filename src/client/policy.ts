/**
 * What the client does when a connection ends, by the server's close code or
 * by the HTTP status that refused the upgrade, and how long it waits. Pure:
 * no sockets, no timers; the randomness is passed in.
 *
 * Switchyard's close codes say why (docs/errors.md): 1012 is a rolling
 * reload ("come back now"), 1013 a full hold bound or a slow consumer ("busy:
 * back off"), 1001 a stop, 1006 a dropped connection (a worker died, the
 * network went); 1008/1009/1011 mean the same message or the same service
 * would be refused again, so retrying blindly only repeats it.
 */

/**
 * - `restart`: reconnect at once, after a small random delay (`restartJitter`)
 *   so that the clients of a reloaded worker do not return in one burst;
 * - `retry`: exponential backoff with full jitter (`baseDelay` … `maxDelay`);
 * - `busy`: a harder backoff (`busyDelay` … `maxDelay`, at least half of the
 *   current ceiling), after any `Retry-After` the server gave;
 * - `final`: stop and report.
 */
export type ReconnectAction = 'restart' | 'retry' | 'busy' | 'final';

/** The default action per close code; codes not listed are `retry`, except 4000–4999 (application codes), which are `final`. */
export const DEFAULT_CLOSE_CODE_ACTIONS: Readonly<Record<number, ReconnectAction>> = {
  1000: 'final', // the server ended the session on purpose (a service's close(), an idle timeout)
  1001: 'retry', // the server is stopping; another node, or this one restarted, may answer
  1002: 'final', // protocol error: the same bytes would break it again
  1003: 'final',
  1007: 'final',
  1008: 'final', // policy: rate limit, origin, inflate limit
  1009: 'final', // a message over maxPayload
  1010: 'final',
  1011: 'final', // the service failed (crash loop) or a message was quarantined
  1012: 'restart', // rolling reload
  1013: 'busy', // hold bound full, service backlog full, slow consumer
};

/** The action for an HTTP status that refused the upgrade (seen in Node over `ws`; a browser sees only 1006). */
export function statusAction(status: number, overrides: Readonly<Record<number, ReconnectAction>>): ReconnectAction {
  const own = overrides[status];
  if (own !== undefined) return own;
  if (status === 429 || status === 503) return 'busy';
  if (status === 408) return 'retry';
  return status >= 400 && status < 500 ? 'final' : 'retry';
}

/** The action for a close code: the overrides first, then the defaults above. */
export function closeAction(code: number, overrides: Readonly<Record<number, ReconnectAction>>): ReconnectAction {
  const action = overrides[code] ?? DEFAULT_CLOSE_CODE_ACTIONS[code];
  if (action !== undefined) return action;
  return code >= 4000 && code <= 4999 ? 'final' : 'retry';
}

export interface BackoffSettings {
  readonly baseDelay: number;
  readonly busyDelay: number;
  readonly maxDelay: number;
  readonly restartJitter: number;
}

/** `base · 2^(attempt − 1)`, capped at `cap`; `attempt` counts from 1. */
export function ceiling(base: number, attempt: number, cap: number): number {
  return Math.min(cap, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 40));
}

/**
 * Milliseconds to wait before attempt number `attempt` (1 for the first
 * reconnect after a connection ended). `random()` returns [0, 1), as
 * `Math.random`. `retryAfter` is the server's `Retry-After`, in ms, capped at
 * `maxDelay`.
 */
export function reconnectDelay(
  action: Exclude<ReconnectAction, 'final'>,
  attempt: number,
  settings: BackoffSettings,
  random: () => number,
  retryAfter = 0,
): number {
  switch (action) {
    case 'restart':
      return Math.floor(random() * settings.restartJitter);
    case 'retry':
      // Full jitter: anywhere from 0 to the ceiling, so a crowd spreads out over the whole window.
      return Math.floor(random() * ceiling(settings.baseDelay, attempt, settings.maxDelay));
    case 'busy': {
      // Equal jitter: never less than half the ceiling, since coming back at once is what a busy server asked us not to do.
      const top = ceiling(settings.busyDelay, attempt, settings.maxDelay);
      return Math.min(retryAfter, settings.maxDelay) + Math.floor(top / 2 + random() * (top / 2));
    }
    default: {
      const unreachable: never = action;
      throw new Error(`unknown reconnect action ${String(unreachable)}`);
    }
  }
}

/** `Retry-After` in ms: delay-seconds, or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
