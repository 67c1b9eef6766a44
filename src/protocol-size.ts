/**
 * Sizes on the protocol (`protocol.ts`): the caps on one message's payload,
 * what a message counts in a queue bound, and the helpers that make and read
 * payloads. Types only from `protocol.ts` (which re-exports this module).
 */
import { decodeText } from './ipc/link-codec';
import type { AnyMessage, Payload } from './protocol';

/**
 * The largest payload, in characters, that crosses a link in one message:
 * client messages (`maxPayload` is capped to it) and what a service sends.
 * JSON escaping can grow text up to 6×, and the result must stay within one
 * link line (`MAX_LINE_LENGTH`, just under V8's string limit).
 */
export const MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;

/**
 * The most bytes a client message or an HTTP body may have: 48 MiB, the cap
 * base64 once set (4 characters per 3 bytes within `MAX_MESSAGE_LENGTH`).
 * Binary and big text now travel as raw bytes (`ipc/link-codec.ts`), which
 * would allow `MAX_MESSAGE_LENGTH` itself; the cap is kept so the options'
 * bounds do not change. `maxPayload` and `maxRequestBody` are capped to it.
 */
export const MAX_PAYLOAD_BYTES = (MAX_MESSAGE_LENGTH / 4) * 3;

/** Bytes counted for a message besides its payload, in queue bounds. */
export const MESSAGE_OVERHEAD = 64;

/** Characters an identity adds to a message (claims are bounded by `maxClaimsBytes`, measured as they were checked). */
function identityLength(fields: { readonly user?: string; readonly claims?: Readonly<Record<string, unknown>> }): number {
  if (fields.user === undefined) return 0;
  return fields.user.length + (fields.claims === undefined ? 0 : JSON.stringify(fields.claims).length);
}

/** Characters of a record's keys and values. */
function recordLength(record: Readonly<Record<string, string>>): number {
  let length = 0;
  for (const key in record) length += key.length + (record[key] as string).length;
  return length;
}

/**
 * Bytes a message is expected to occupy in a queue; payloads dominate. A
 * request also counts its path, query and headers: they can reach
 * `maxHeaderSize` (1 MiB) each, and queues cut their batches (one link line)
 * by these sizes, so counting only the body would let a few hundred such
 * requests make a line past V8's string limit. A connect counts its client's
 * query and forwarded headers for the same reason.
 */
export function approximateSize(message: AnyMessage): number {
  switch (message.type) {
    case 'request':
      return message.data.length + message.path.length + recordLength(message.query) + recordLength(message.headers) + identityLength(message) + MESSAGE_OVERHEAD;
    case 'connect': {
      // The same reasoning for a connect: its client carries the handshake's query and forwarded headers.
      const { client } = message;
      return (
        client.id.length +
        client.service.length +
        client.path.length +
        recordLength(client.query) +
        recordLength(client.headers) +
        client.remoteAddress.length +
        identityLength(client) +
        MESSAGE_OVERHEAD
      );
    }
    default:
      return 'data' in message ? message.data.length + MESSAGE_OVERHEAD : MESSAGE_OVERHEAD;
  }
}

/** A text (string) or binary (Buffer) payload, as it goes on a link. */
export function encodePayload(data: string | Buffer): Payload {
  return typeof data === 'string' ? { data } : { data, binary: true };
}

/** What a payload holds: its string for text (decoded here when it came as bytes), its Buffer for binary. */
export function decodePayload(payload: Payload): string | Buffer {
  if (typeof payload.data === 'string' || payload.binary === true) return payload.data;
  return decodeText(payload.data);
}

/** A payload's bytes as a client gets them (text as UTF-8). */
export function payloadBytes(payload: Payload): Buffer {
  return typeof payload.data === 'string' ? Buffer.from(payload.data, 'utf8') : payload.data;
}
