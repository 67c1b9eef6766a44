/**
 * What `send()` and `request()` hold while the client is not connected,
 * bounded by count and by bytes, flushed in order on (re)connect. An entry
 * that does not fit is refused, never an older one evicted: what is sent is
 * always a prefix of what was queued, in order.
 */

/** What `send()` accepts: text, binary, or any other value (sent as JSON text). */
export type OutgoingData = string | ArrayBuffer | ArrayBufferView | { readonly size: number; readonly type: string } | unknown;

export interface QueuedEntry {
  /** What goes on the wire: a string (text frame) or binary. */
  readonly frame: unknown;
  readonly bytes: number;
  /** What the caller passed to `send()`, reported back if it is never sent; undefined for a request (its promise reports it). */
  readonly data?: unknown;
  /** The request id, for a request. */
  readonly id?: number;
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point, 4 bytes
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export class SendQueue {
  #entries: QueuedEntry[] = [];
  #bytes = 0;
  readonly #maxMessages: number;
  readonly #maxBytes: number;

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  get length(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Appends `entry`; false (and nothing queued) when it would pass either bound. */
  push(entry: QueuedEntry): boolean {
    if (this.#entries.length >= this.#maxMessages || this.#bytes + entry.bytes > this.#maxBytes) return false;
    this.#entries.push(entry);
    this.#bytes += entry.bytes;
    return true;
  }

  shift(): QueuedEntry | undefined {
    const entry = this.#entries.shift();
    if (entry !== undefined) this.#bytes -= entry.bytes;
    return entry;
  }

  /** Takes out one entry (a request that timed out while queued). */
  remove(entry: QueuedEntry): void {
    const index = this.#entries.indexOf(entry);
    if (index === -1) return;
    this.#entries.splice(index, 1);
    this.#bytes -= entry.bytes;
  }

  /** Empties the queue and returns what it held, in order. */
  drain(): QueuedEntry[] {
    const entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    return entries;
  }
}
