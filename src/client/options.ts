/**
 * The client's options: `DEFAULT_*` values and one `resolveClientOptions()`
 * that merges, checks with dotted names and freezes (STYLE habit 6).
 */
import { SwitchyardClientError } from './errors';
import type { ReconnectAction } from './policy';
import type { WebSocketConstructor } from './socket';
import type { SwitchyardClient } from './client';

/** Options of `connect()`; every one is optional. */
export interface ClientOptions {
  /** The WebSocket class to use. Default: the global `WebSocket`, else the `ws` package (Node 20), loaded only then. */
  readonly WebSocket?: WebSocketConstructor;
  /** Subprotocols offered on the upgrade. Default none. */
  readonly protocols?: string | readonly string[];
  /** Whether to reconnect at all. Default `true`. */
  readonly reconnect?: boolean;
  /** First ceiling of the `retry` backoff, in ms (full jitter: 0 to the ceiling, doubling per attempt). Default `500`. */
  readonly baseDelay?: number;
  /** First ceiling of the `busy` backoff (1013, HTTP 429/503), in ms (at least half of it is waited). Default `2000`. */
  readonly busyDelay?: number;
  /** Cap of every ceiling, and of a `Retry-After`, in ms. Default `30000`. */
  readonly maxDelay?: number;
  /** Largest random delay before reconnecting after 1012 (a rolling reload), in ms. Default `300`. */
  readonly restartJitter?: number;
  /** Failed attempts in a row after which the client gives up (`GaveUpError`). Default `Infinity`. */
  readonly maxAttempts?: number;
  /** A connection that stayed open this long, in ms, resets the attempt count (a shorter one keeps backing off). Default `5000`. */
  readonly stableAfter?: number;
  /** An attempt not open within this many ms is abandoned and counts as a 1006. Default `10000`. */
  readonly connectTimeout?: number;
  /** Actions per close code, over the defaults (`DEFAULT_CLOSE_CODE_ACTIONS`; 4000–4999 `final`, others `retry`). */
  readonly closeCodes?: Readonly<Record<number, ReconnectAction>>;
  /** Actions per HTTP status refusing the upgrade, over the defaults (429/503 `busy`, 408 `retry`, other 4xx `final`). Seen only over `ws`. */
  readonly httpStatuses?: Readonly<Record<number, ReconnectAction>>;
  /** Most messages (sends and requests) held while not connected. Default `1000`. */
  readonly maxQueuedMessages?: number;
  /** Most bytes (UTF-8 text, binary) held while not connected. Default 1 MiB. */
  readonly maxQueuedBytes?: number;
  /** Default timeout of `request()`, in ms, counted from the call (time queued included). Default `15000`. */
  readonly requestTimeout?: number;
  /**
   * Called on each reconnect once the socket is open, before the queued
   * messages are flushed: what it sends goes first (re-join a room,
   * re-authenticate). Default none.
   */
  readonly onReconnect?: (client: SwitchyardClient) => void;
  /**
   * `'json'`: every text message received is parsed as JSON before the
   * `message` event (one that is not JSON, or a binary one, is an `error`
   * event with `SY_CLIENT_INVALID_MESSAGE` instead), and a typed service's
   * `SY_ERR_INVALID_MESSAGE` reply is a `rejected` event. What
   * `connect<ServerMessage, ClientMessage>()` needs. Default unset: text as
   * a string, binary as an ArrayBuffer.
   */
  readonly messageFormat?: 'json';
}

/** The options of a typed client: `messageFormat: 'json'` is required, since types do not exist at run time. */
export type JsonClientOptions = ClientOptions & { readonly messageFormat: 'json' };

export const DEFAULT_BASE_DELAY = 500;
export const DEFAULT_BUSY_DELAY = 2000;
export const DEFAULT_MAX_DELAY = 30_000;
export const DEFAULT_RESTART_JITTER = 300;
export const DEFAULT_STABLE_AFTER = 5000;
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT = 15_000;

export interface ResolvedClientOptions {
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly protocols: string | string[] | undefined;
  readonly reconnect: boolean;
  readonly baseDelay: number;
  readonly busyDelay: number;
  readonly maxDelay: number;
  readonly restartJitter: number;
  readonly maxAttempts: number;
  readonly stableAfter: number;
  readonly connectTimeout: number;
  readonly closeCodes: Readonly<Record<number, ReconnectAction>>;
  readonly httpStatuses: Readonly<Record<number, ReconnectAction>>;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly requestTimeout: number;
  readonly onReconnect: ((client: SwitchyardClient) => void) | undefined;
  readonly json: boolean;
}

const ACTIONS: readonly string[] = ['restart', 'retry', 'busy', 'final'];
/** setTimeout's largest delay; a longer one fires at once. */
const MAX_TIMER = 2 ** 31 - 1;

export function invalid(name: string, what: string, value: unknown): SwitchyardClientError {
  return new SwitchyardClientError('SY_CLIENT_INVALID_ARGUMENT', `${name} must be ${what}, got ${String(value)}`);
}

/** A whole number of ms from `min` to setTimeout's limit. */
export function checkMs(name: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER) throw invalid(name, `an integer from ${min} to ${MAX_TIMER}`, value);
  return value;
}

function count(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 1) || (!Number.isInteger(value) && value !== Infinity)) throw invalid(name, 'a positive integer or Infinity', value);
  return value;
}

function actions(name: string, value: unknown): Readonly<Record<number, ReconnectAction>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalid(name, 'an object of code → action', value);
  for (const [code, action] of Object.entries(value)) {
    if (!/^\d{3,4}$/.test(code)) throw invalid(`${name} keys`, 'close codes or HTTP statuses', code);
    if (!ACTIONS.includes(action as string)) throw invalid(`${name}[${code}]`, `one of ${ACTIONS.join(', ')}`, action);
  }
  return Object.freeze({ ...(value as Record<number, ReconnectAction>) });
}

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  const { WebSocket, protocols, reconnect, onReconnect, messageFormat } = options;
  if (messageFormat !== undefined && messageFormat !== 'json') throw invalid('options.messageFormat', "'json' or unset", messageFormat);
  if (WebSocket !== undefined && typeof WebSocket !== 'function') throw invalid('options.WebSocket', 'a WebSocket class', WebSocket);
  if (reconnect !== undefined && typeof reconnect !== 'boolean') throw invalid('options.reconnect', 'a boolean', reconnect);
  if (onReconnect !== undefined && typeof onReconnect !== 'function') throw invalid('options.onReconnect', 'a function', onReconnect);
  const baseDelay = checkMs('options.baseDelay', options.baseDelay, DEFAULT_BASE_DELAY, 1);
  const busyDelay = checkMs('options.busyDelay', options.busyDelay, DEFAULT_BUSY_DELAY, 1);
  const maxDelay = checkMs('options.maxDelay', options.maxDelay, Math.max(DEFAULT_MAX_DELAY, baseDelay, busyDelay), 1);
  if (maxDelay < baseDelay || maxDelay < busyDelay) throw invalid('options.maxDelay', 'at least baseDelay and busyDelay', maxDelay);
  return Object.freeze({
    WebSocket,
    protocols: typeof protocols === 'string' || protocols === undefined ? protocols : [...protocols],
    reconnect: reconnect ?? true,
    baseDelay,
    busyDelay,
    maxDelay,
    restartJitter: checkMs('options.restartJitter', options.restartJitter, DEFAULT_RESTART_JITTER),
    maxAttempts: count('options.maxAttempts', options.maxAttempts, Infinity),
    stableAfter: checkMs('options.stableAfter', options.stableAfter, DEFAULT_STABLE_AFTER),
    connectTimeout: checkMs('options.connectTimeout', options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, 1),
    closeCodes: actions('options.closeCodes', options.closeCodes),
    httpStatuses: actions('options.httpStatuses', options.httpStatuses),
    maxQueuedMessages: count('options.maxQueuedMessages', options.maxQueuedMessages, DEFAULT_MAX_QUEUED_MESSAGES),
    maxQueuedBytes: count('options.maxQueuedBytes', options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES),
    requestTimeout: checkMs('options.requestTimeout', options.requestTimeout, DEFAULT_REQUEST_TIMEOUT, 1),
    onReconnect,
    json: messageFormat === 'json',
  });
}
