/**
 * `--chaos`: which faults the bench injects into the server it loads, how
 * often, and where it finds the processes to act on. Parsed here (pure), run
 * by controller.ts.
 */
import { SwitchyardError } from 'switchyard';

/** SIGKILL one instance of the loaded service; SIGKILL one worker; SIGHUP the master (a rolling reload). */
export type ChaosKind = 'service' | 'worker' | 'reload';
export const CHAOS_KINDS: readonly ChaosKind[] = ['service', 'worker', 'reload'];

export interface ChaosPlan {
  /** The faults in rotation: event k (1-based) is `kinds[(k - 1) % kinds.length]`. */
  readonly kinds: readonly ChaosKind[];
  /** ms from the start of the measured window to the first event, and between events. */
  readonly intervalMs: number;
  /** The services whose instances `service` events kill, in rotation (default: the URL path's first segment). */
  readonly services: readonly string[];
  /** Where the processes are listed: the server's `/healthz` (default: the URL's host and port). */
  readonly healthUrl: string;
  /**
   * Exactly this many events (0: as many as the run's duration holds). The
   * load then lasts until the last one recovered and one more interval
   * passed, past the duration if recoveries are slow.
   */
  readonly events: number;
}

/** Default `--chaos-interval`. */
export const DEFAULT_CHAOS_INTERVAL_MS = 10_000;

function invalid(message: string): SwitchyardError {
  return new SwitchyardError('SY_ERR_INVALID_OPTION', message);
}

/** `10`, `10s`, `500ms`, `1.5m` → ms. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  const unit = match?.[2] ?? 's';
  const ms = match === null ? Number.NaN : Number(match[1]) * (unit === 'ms' ? 1 : unit === 'm' ? 60_000 : 1000);
  if (!Number.isFinite(ms) || ms < 100 || ms > 86_400_000) throw invalid(`--${flag} must be a duration from 100ms to 24h such as 10s, 500ms or 1m, got "${value}"`);
  return ms;
}

export function parseKinds(value: string): ChaosKind[] {
  const kinds = value.split(',').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (!(CHAOS_KINDS as readonly string[]).includes(kind)) throw invalid(`--chaos takes a comma-separated list of ${CHAOS_KINDS.join(', ')}, got "${value}"`);
  }
  return kinds as ChaosKind[];
}

/** The `/healthz` URL of the server behind a ws:// URL. */
export function healthUrlFor(url: string): string {
  const target = new URL(url);
  return `${target.protocol === 'wss:' ? 'https:' : 'http:'}//${target.host}/healthz`;
}

/** The service a ws:// URL reaches: its path's first segment. */
export function serviceFor(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/')[1] ?? '');
}

function parseEvents(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value) || Number(value) > 10_000) throw invalid(`--chaos-events must be a whole number from 0 to 10000, got "${value}"`);
  return Number(value);
}

export interface ChaosFlags {
  readonly chaos?: string;
  readonly interval?: string;
  readonly service?: string;
  readonly healthUrl?: string;
  readonly events?: string;
}

/** The plan for these flags; `undefined` without `--chaos`. Throws `SY_ERR_INVALID_OPTION`. */
export function parseChaos(flags: ChaosFlags, url: string): ChaosPlan | undefined {
  if (flags.chaos === undefined) {
    const stray = flags.interval !== undefined ? 'chaos-interval' : flags.service !== undefined ? 'chaos-service' : flags.healthUrl !== undefined ? 'health-url' : flags.events !== undefined ? 'chaos-events' : undefined;
    if (stray !== undefined) throw invalid(`--${stray} needs --chaos`);
    return undefined;
  }
  const services = (flags.service ?? serviceFor(url)).split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (services.length === 0 && parseKinds(flags.chaos).includes('service')) throw invalid('--chaos service needs a service: a --url with a path, or --chaos-service <name>');
  let healthUrl = flags.healthUrl ?? healthUrlFor(url);
  try {
    const parsed = new URL(healthUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    healthUrl = parsed.toString();
  } catch {
    throw invalid(`--health-url must be an http:// URL, got "${healthUrl}"`);
  }
  return Object.freeze({
    kinds: Object.freeze(parseKinds(flags.chaos)),
    intervalMs: flags.interval === undefined ? DEFAULT_CHAOS_INTERVAL_MS : parseDuration('chaos-interval', flags.interval),
    services: Object.freeze(services),
    healthUrl,
    events: parseEvents(flags.events),
  });
}
