/**
 * The one registry of Switchyard errors. Every failure a user can observe has a
 * stable `code`; tests and callers match on codes, never on message text.
 * Documented in docs/errors.md, which test/errors.test.ts keeps in step with
 * this registry.
 */

export const ERROR_CODES = {
  SY_ERR_INVALID_OPTION: 'An option has a wrong type or value',
  SY_ERR_CONFIG_FILE: 'The config file cannot be read or parsed',
  SY_ERR_INVALID_ARGUMENT: 'A method was called with a wrong argument',
  SY_ERR_INVALID_STATE: 'A method was called in a lifecycle state that does not allow it',
  SY_ERR_SERVICE_LOAD_FAILED: 'A service module could not be loaded',
  SY_ERR_SERVICE_START_FAILED: 'A service failed to start (onStart threw or the process exited)',
  SY_ERR_WORKER_START_FAILED: 'A worker failed to start listening',
  SY_ERR_ADDRESS_IN_USE: 'The port cannot be bound (in use, or not allowed)',
  SY_ERR_START_TIMEOUT: 'The cluster did not become ready within startTimeout',
  SY_ERR_RELOAD_FAILED: 'A reload could not start a service\'s new instance; the running one keeps serving',
  SY_ERR_SERVICE_NOT_ATTACHED: 'A service action was used outside a running service process',
  SY_ERR_TS_NODE_MISSING: 'A .ts module was given but no TypeScript loader here can run it (tsx, ts-node, Node\'s type stripping)',
  SY_ERR_SERVICE_UNAVAILABLE: 'The service is down or failed (HTTP 503 with Retry-After)',
  SY_ERR_HANDLER_FAILED: 'onRequest threw something other than a RequestError (HTTP 500)',
  SY_ERR_NOT_IMPLEMENTED: 'The service has no onRequest (HTTP 501)',
  SY_ERR_BAD_REQUEST: 'A request envelope could not be parsed',
  SY_ERR_INVALID_MESSAGE: 'A message to a typed service is not JSON text or fails its messageSchema (an error reply; the handler is not called)',
  SY_ERR_REQUEST_TIMEOUT: 'onRequest did not answer within requestTimeout (HTTP 504)',
  SY_ERR_NATS_UNAVAILABLE: 'NATS cannot be used: the client package is missing, or no server could be reached',
  SY_ERR_NATS_FRAME_TOO_LARGE: "A frame does not fit the NATS server's max_payload",
  SY_ERR_NODE_CONFLICT: 'Another process already runs under this node name in the cluster',
  SY_ERR_NODE_UNLISTED: "A running node of the cluster does not list this node in its cluster.nodes",
  SY_ERR_WORKER_MODULE_LOAD_FAILED: 'The authenticate or http module could not be loaded by a worker',
  SY_ERR_AUTH_FAILED: 'The authenticator threw something other than a RequestError, or returned no valid identity (HTTP 500)',
  SY_ERR_AUTH_TIMEOUT: 'The authenticator did not answer within handshakeTimeout (HTTP 503)',
  SY_ERR_AUTH_BUSY: 'The worker already runs maxConcurrentAuth authenticator calls (HTTP 503 with Retry-After)',
  SY_ERR_AUTH_TOKEN_MISSING: 'No token in any of the configured places (HTTP 401)',
  SY_ERR_AUTH_TOKEN_MALFORMED: 'The token is not a well-formed JWT (HTTP 401)',
  SY_ERR_AUTH_TOKEN_SIGNATURE: 'The token\'s signature does not verify, or its algorithm is not allowed (HTTP 401)',
  SY_ERR_AUTH_TOKEN_EXPIRED: 'The token has expired (HTTP 401)',
  SY_ERR_AUTH_TOKEN_AUDIENCE: 'The token\'s audience is not the configured one (HTTP 401)',
  SY_ERR_AUTH_TOKEN_ISSUER: 'The token\'s issuer is not the configured one (HTTP 401)',
  SY_ERR_AUTH_TOKEN_CLAIMS: 'Another claim check failed: not yet valid, or no user claim (HTTP 401)',
  SY_ERR_TLS_CERT: 'A TLS certificate, key or CA file cannot be read or used (the message names the file)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SwitchyardError extends Error {
  override readonly name = 'SwitchyardError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isSwitchyardError(value: unknown, code?: ErrorCode): value is SwitchyardError {
  return value instanceof SwitchyardError && (code === undefined || value.code === code);
}

/** WebSocket close codes Switchyard itself uses (RFC 6455 §7.4.1 and IANA registry). */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
} as const;

/**
 * Codes an application may pass to `close()`: 1000 and the private range
 * 3000–4999, plus the few standard ones that make sense for a server to send.
 * 1005/1006/1015 must never be sent on the wire.
 */
export function isSendableCloseCode(code: unknown): code is number {
  if (typeof code !== 'number' || !Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code === 1000 || code === 1001 || code === 1008 || code === 1011 || code === 1012 || code === 1013;
}

/** Close reasons are limited to 123 bytes of UTF-8 by the frame format. */
export function isSendableCloseReason(reason: unknown): reason is string {
  return typeof reason === 'string' && Buffer.byteLength(reason) <= 123;
}

/** Serializable form of an error, for crossing a process boundary. */
export interface ErrorInfo {
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack !== undefined ? { stack: error.stack } : {}),
    };
  }
  return { message: String(error) };
}
