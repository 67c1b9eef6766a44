/**
 * What a `SwitchyardClient` (`client.ts`) tells its listeners: its states,
 * and the one argument of each of its events. Types only: nothing of it
 * reaches the bundle.
 */
import type { SwitchyardClientError } from './errors';

/** `connecting` (first attempt) → `open` ⇄ `reconnecting` → `closed` (by `close()`, a final code, or giving up). */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface OpenInfo {
  /** True from the second connection on. */
  readonly reconnect: boolean;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** Whether the client will reconnect (a `reconnecting` event follows). */
  readonly reconnect: boolean;
}

export interface ReconnectingInfo {
  /** Failed attempts in a row, this one included (1 for the first reconnect). */
  readonly attempt: number;
  /** Milliseconds until the attempt. */
  readonly delay: number;
  /** The close code, or 1006 for an attempt that never opened. */
  readonly code: number;
  /** The HTTP status that refused the upgrade, where visible (Node over `ws`). */
  readonly status: number | undefined;
}

export interface ReconnectedInfo {
  /** Reconnects so far, this one included. */
  readonly reconnects: number;
}

/** Messages that will never be sent: refused by the full queue, or still queued when the client stopped. */
export interface UndeliveredInfo {
  readonly reason: 'overflow' | 'closed';
  /** What was passed to `send()`, in order. */
  readonly messages: readonly unknown[];
}

/** Received messages: text as a string, binary as an `ArrayBuffer`. */
export type IncomingData = string | ArrayBuffer;

/**
 * A typed service refused a message (`messageFormat: 'json'` only): the
 * server's `{"$error": …}` reply (docs/typed-messages.md). The connection stays open.
 */
export interface RejectedInfo {
  /** `SY_ERR_INVALID_MESSAGE`. */
  readonly code: string;
  readonly message: string;
  /** The schema's issues (at most 10), when a schema rejected it. */
  readonly issues?: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<string | number> }>;
}

/** `Incoming`: what `message` carries (`IncomingData` untyped, the parsed server type with `messageFormat: 'json'`). */
export interface ClientEvents<Incoming = IncomingData> {
  open: OpenInfo;
  message: Incoming;
  rejected: RejectedInfo;
  close: CloseInfo;
  reconnecting: ReconnectingInfo;
  reconnected: ReconnectedInfo;
  undelivered: UndeliveredInfo;
  error: SwitchyardClientError;
}

export interface RequestOptions {
  /** Milliseconds from this call to the answer; default the client's `requestTimeout`. */
  readonly timeout?: number;
}
