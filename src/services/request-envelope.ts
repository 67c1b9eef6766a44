/**
 * The optional WebSocket request envelope. A text message that starts with
 * `{"$req":` is a request: `{"$req": <id>, "data": <any JSON>}`, where the id is
 * a string or a number chosen by the client. The service answers exactly once,
 * with `{"$res": <id>, "data": <any JSON>}` or
 * `{"$res": <id>, "error": {"code": "...", "message": "..."}}`.
 * Every other message is a plain message and goes to `onMessage` untouched.
 */

export const REQUEST_PREFIX = '{"$req":';

export type RequestId = string | number;

export type Envelope =
  | { readonly ok: true; readonly id: RequestId; readonly data: unknown }
  | { readonly ok: false; readonly id: RequestId | null; readonly message: string };

/** Whether a text message is meant as a request (a cheap prefix check, no parsing). */
export function looksLikeRequest(text: string): boolean {
  return text.startsWith(REQUEST_PREFIX);
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 128) || (typeof value === 'number' && Number.isFinite(value));
}

export function parseRequest(text: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, id: null, message: 'request envelope is not valid JSON' };
  }
  const record = value as Record<string, unknown>;
  if (!isRequestId(record.$req)) return { ok: false, id: null, message: '"$req" must be a string (at most 128 characters) or a finite number' };
  return { ok: true, id: record.$req, data: record.data };
}

export function formatResult(id: RequestId | null, data: unknown): string {
  return JSON.stringify({ $res: id, data: data === undefined ? null : data });
}

export function formatError(id: RequestId | null, code: string, message: string): string {
  return JSON.stringify({ $res: id, error: { code, message } });
}
