/**
 * The client's errors: one class per failure, each with a stable `code`
 * (tests and callers match on codes, never on message text). Caller bugs
 * (a bad option, data JSON cannot hold) throw `SwitchyardClientError` with
 * `SY_CLIENT_INVALID_ARGUMENT` at once; runtime failures arrive once, as a
 * rejected request or an `error` event.
 */

/** Codes of the errors the client makes itself; a `RequestError` carries the server's code instead. */
export type ClientErrorCode = 'SY_CLIENT_INVALID_ARGUMENT' | 'SY_CLIENT_TIMEOUT' | 'SY_CLIENT_DISCONNECTED' | 'SY_CLIENT_QUEUE_FULL' | 'SY_CLIENT_GAVE_UP' | 'SY_CLIENT_INVALID_MESSAGE';

/** Base class of every error the client rejects or emits. */
export class SwitchyardClientError extends Error {
  constructor(
    /** `SY_CLIENT_*`, or for a `RequestError` the code the server answered with. */
    readonly code: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The server answered a request with an error: `code` is what the handler
 * threw (a `RequestError`'s code on the server) or a Switchyard code such as
 * `SY_ERR_REQUEST_TIMEOUT` or `SY_ERR_HANDLER_FAILED`.
 */
export class RequestError extends SwitchyardClientError {}

/** No answer within the request's timeout (counted from `request()`, time in the offline queue included). */
export class TimeoutError extends SwitchyardClientError {
  constructor(readonly timeout: number) {
    super('SY_CLIENT_TIMEOUT', `no answer within ${timeout} ms`);
  }
}

/**
 * The connection ended before the answer came. `sent: true` means the
 * request reached the socket, so the server may have handled it (requests are
 * never resent); `sent: false` means it never left this client.
 */
export class DisconnectedError extends SwitchyardClientError {
  constructor(
    readonly sent: boolean,
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super('SY_CLIENT_DISCONNECTED', `disconnected (${closeCode}${reason === '' ? '' : ` ${reason}`}) before the answer`);
  }
}

/** The offline queue is full (`maxQueuedMessages`/`maxQueuedBytes`): the request was not queued. */
export class QueueFullError extends SwitchyardClientError {
  constructor() {
    super('SY_CLIENT_QUEUE_FULL', 'the offline send queue is full');
  }
}

/**
 * The client stopped reconnecting by itself: a final close code or upgrade
 * status (see `closeCodes`/`httpStatuses`), `maxAttempts` failed attempts in
 * a row, or `reconnect: false`. Emitted once as the `error` event.
 */
export class GaveUpError extends SwitchyardClientError {
  constructor(
    readonly closeCode: number,
    readonly reason: string,
    /** The HTTP status that refused the upgrade, where the client could see it (Node over `ws`). */
    readonly status: number | undefined,
    readonly attempts: number,
  ) {
    super('SY_CLIENT_GAVE_UP', `stopped reconnecting after ${status === undefined ? `close ${closeCode}` : `HTTP ${status}`}${reason === '' ? '' : ` (${reason})`}`);
  }
}
