/**
 * What a `SwitchyardClient` (`client.ts`) writes and what it recognises in
 * what arrives: the frame and size of a `send()`, and a typed service's
 * refusal of a message (`{"$error": …}`, docs/typed-messages.md).
 */
import { SwitchyardClientError } from './errors';
import type { RejectedInfo } from './client-events';
import { invalid } from './options';
import { utf8Length, type QueuedEntry } from './send-queue';

/** Binary data as `send()` takes it: an `ArrayBuffer`, a view of one, or a `Blob`. */
export function isBinary(data: unknown): boolean {
  return data instanceof ArrayBuffer || ArrayBuffer.isView(data) || (typeof Blob === 'function' && data instanceof Blob);
}

/** The frame and its size for `send(data)`: text as is, binary as is, anything else as JSON text. */
export function outgoing(data: unknown): QueuedEntry {
  if (typeof data === 'string') return { frame: data, bytes: utf8Length(data), data };
  if (isBinary(data)) return { frame: data, bytes: (data as { byteLength?: number; size?: number }).byteLength ?? (data as { size: number }).size, data };
  let frame: string | undefined;
  try {
    frame = JSON.stringify(data);
  } catch (error) {
    throw new SwitchyardClientError('SY_CLIENT_INVALID_ARGUMENT', 'send() takes a string, binary data or a JSON-serialisable value', { cause: error });
  }
  if (frame === undefined) throw invalid('send() data', 'a string, binary data or a JSON-serialisable value', data);
  return { frame, bytes: utf8Length(frame), data };
}

/** The server's error reply to a refused message starts so (typed-messages.ts on the server; the client imports nothing from it). */
export const REJECTION_PREFIX = '{"$error":';

/** The refusal in a parsed `{"$error": …}` reply, or undefined when it is not one. */
export function rejectedInfo(value: unknown): RejectedInfo | undefined {
  const body = (value as { readonly $error?: unknown }).$error;
  if (typeof body !== 'object' || body === null) return undefined;
  const { code, message, issues } = body as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return Array.isArray(issues) ? { code, message, issues: issues as RejectedInfo['issues'] } : { code, message };
}
