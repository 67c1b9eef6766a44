/**
 * A reliable channel's unacknowledged frames, oldest first, with consecutive
 * sequence numbers: appended at the end, dropped from the front by cumulative
 * acks, read by range for resends. An array with a moving head (compacted
 * now and then) rather than a shift per ack.
 */

/** One frame sent and not yet acknowledged. */
export interface Unacked {
  readonly seq: number;
  readonly payload: Uint8Array;
  /** When it was last (re)sent: a frame sent again less than half a `resendTimeout` ago is not sent again yet. */
  sentAt: number;
}

export class SendWindow {
  private readonly frames: Unacked[] = [];
  private head = 0;
  private payloadBytes = 0;

  /** Frames held. */
  get size(): number {
    return this.frames.length - this.head;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** The oldest frame's sequence number; 0 when empty. */
  get firstSeq(): number {
    return this.frames[this.head]?.seq ?? 0;
  }

  /** Appends the next frame (its sequence number follows the last one's). */
  push(seq: number, payload: Uint8Array, now: number): void {
    this.frames.push({ seq, payload, sentAt: now });
    this.payloadBytes += payload.byteLength;
  }

  /** Drops every frame up to `ack`; whether any was dropped. */
  acknowledge(ack: number): boolean {
    const before = this.head;
    while (this.head < this.frames.length && (this.frames[this.head] as Unacked).seq <= ack) {
      this.payloadBytes -= (this.frames[this.head] as Unacked).payload.byteLength;
      this.head++;
    }
    if (this.head === before) return false;
    if (this.head === this.frames.length) {
      this.frames.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.head = 0;
    }
    return true;
  }

  /** The frames from `from` to `to` (inclusive) that are held, oldest first (a resend's; not on the hot path). */
  range(from: number, to: number): Unacked[] {
    if (this.size === 0) return [];
    const first = this.firstSeq;
    const start = this.head + Math.max(0, from - first);
    const end = Math.min(this.frames.length, this.head + (to - first) + 1);
    return start < end ? this.frames.slice(start, end) : [];
  }

  clear(): void {
    this.frames.length = 0;
    this.head = 0;
    this.payloadBytes = 0;
  }
}
