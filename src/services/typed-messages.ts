/**
 * Typed messages (docs/typed-messages.md). A service that sets
 * `messageFormat = 'json'` or a `messageSchema` gets each client message
 * parsed as JSON, then checked by the schema's `~standard.validate`, before
 * `onMessage` sees it. A message that is not JSON, or that the schema
 * rejects, never reaches the handler: its client gets one error reply (the
 * shape below, in its order among the service's other replies to it) and the
 * host counts it. A service that sets neither gets no decoder at all, so the
 * untyped path costs nothing.
 *
 * The error reply is one JSON text message:
 * `{"$error":{"code":"SY_ERR_INVALID_MESSAGE","message":"…","issues":[{"message":"…","path":["items",0]}]}}`
 * (`issues` only for a schema's rejection, at most MAX_ISSUES of them).
 */
import { SwitchyardError, type ErrorCode } from '../errors';
import type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from './standard-schema';

/** The code of the error reply. */
export const INVALID_MESSAGE_CODE = 'SY_ERR_INVALID_MESSAGE' satisfies ErrorCode;
/** A rejection lists at most this many of the schema's issues (a hostile message must not make a huge reply). */
export const MAX_ISSUES = 10;
const MAX_ISSUE_MESSAGE = 200;
const MAX_PATH_SEGMENTS = 16;
const MAX_SEGMENT_LENGTH = 64;

/** Why a message was refused: the `reason` label of `switchyard_invalid_messages_total`. */
export type InvalidReason = 'json' | 'schema';

/** One issue as the error reply carries it. */
export interface InvalidMessageIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<string | number>;
}

/** What a typed service's client receives for a message the service refused. */
export interface InvalidMessageReply {
  readonly $error: { readonly code: typeof INVALID_MESSAGE_CODE; readonly message: string; readonly issues?: readonly InvalidMessageIssue[] };
}

export interface Rejection {
  readonly ok: false;
  readonly reason: InvalidReason;
  /** The error reply, as JSON text. */
  readonly reply: string;
}

export type Decoded = { readonly ok: true; readonly value: unknown } | Rejection;

/** What the decoder reads of a service: its two typing properties. */
export interface MessageTyping {
  readonly messageFormat?: 'json';
  readonly messageSchema?: StandardSchemaV1<unknown, unknown>;
}

function rejection(reason: InvalidReason, message: string, issues?: readonly InvalidMessageIssue[]): Rejection {
  const body: InvalidMessageReply = { $error: issues === undefined ? { code: INVALID_MESSAGE_CODE, message } : { code: INVALID_MESSAGE_CODE, message, issues } };
  return { ok: false, reason, reply: JSON.stringify(body) };
}

const NOT_TEXT = rejection('json', 'this service takes JSON text messages; got a binary message');
const NOT_JSON = rejection('json', 'message is not valid JSON');

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function segment(part: PropertyKey | { readonly key: PropertyKey }): string | number {
  const key = typeof part === 'object' && part !== null ? part.key : part;
  return typeof key === 'number' ? key : clip(String(key), MAX_SEGMENT_LENGTH);
}

/** The schema's issues, bounded in number and size. */
export function replyIssues(issues: ReadonlyArray<StandardSchemaIssue>): InvalidMessageIssue[] {
  return issues.slice(0, MAX_ISSUES).map((issue) => {
    const message = clip(String(issue.message), MAX_ISSUE_MESSAGE);
    const path = Array.isArray(issue.path) ? issue.path.slice(0, MAX_PATH_SEGMENTS).map(segment) : undefined;
    return path === undefined || path.length === 0 ? { message } : { message, path };
  });
}

function fromResult(result: StandardSchemaResult<unknown>): Decoded {
  if (result.issues === undefined) return { ok: true, value: result.value };
  const count = result.issues.length;
  return rejection('schema', `message does not match the service's schema (${count} ${count === 1 ? 'issue' : 'issues'})`, replyIssues(result.issues));
}

/**
 * Parses and validates one service's messages. Made once per service
 * instance (`MessageDecoder.for`); `decode` is sync unless the schema's
 * `validate` returns a promise.
 */
export class MessageDecoder {
  private constructor(private readonly schema: StandardSchemaV1<unknown, unknown> | undefined) {}

  /**
   * The decoder `service` asks for, or undefined for an untyped service.
   * Throws `SY_ERR_INVALID_ARGUMENT` for a `messageFormat` other than
   * `'json'`, or a `messageSchema` that is not a Standard Schema (so the
   * service fails to start, naming it, rather than take unchecked messages).
   */
  static for(service: MessageTyping): MessageDecoder | undefined {
    const format: unknown = service.messageFormat;
    const schema: unknown = service.messageSchema;
    if (format === undefined && schema === undefined) return undefined;
    if (format !== undefined && format !== 'json') {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `messageFormat must be 'json' (or unset, for strings and Buffers); got ${JSON.stringify(format)}`);
    }
    if (schema !== undefined && !isStandardSchema(schema)) {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'messageSchema must be a Standard Schema (an object with a "~standard" property whose validate is a function: zod, valibot, ArkType…)');
    }
    return new MessageDecoder(schema);
  }

  /** The parsed (and validated) message, or the rejection to reply with. A schema whose `validate` throws throws here. */
  decode(data: string | Buffer): Decoded | Promise<Decoded> {
    if (typeof data !== 'string') return NOT_TEXT;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return NOT_JSON;
    }
    if (this.schema === undefined) return { ok: true, value };
    const result = this.schema['~standard'].validate(value);
    return isThenable(result) ? Promise.resolve(result).then(fromResult) : fromResult(result);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { readonly then?: unknown }).then === 'function';
}

function isStandardSchema(value: unknown): value is StandardSchemaV1<unknown, unknown> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { readonly '~standard'?: unknown })['~standard'];
  return typeof props === 'object' && props !== null && typeof (props as { readonly validate?: unknown }).validate === 'function';
}
