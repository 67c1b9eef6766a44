/**
 * A reliable channel's receive side (`reliable-channel.ts`; its send side is
 * `send-window.ts`): the peer's data frames go to the owner in order, exactly
 * once per session; those that come early are kept within the window's
 * bounds; a gap is asked for with a nack; what was delivered is acknowledged
 * cumulatively (on the channel's own data frames, else after `ackDelay` or
 * every `ackEvery` frames). The channel owns the session (epochs, resets)
 * and writes the frames this asks for.
 */
import type { ChannelStats, ReliableChannelOptions } from './channel-types';

/** What the receive side needs of its channel. */
export interface ReceiveHost {
  /** Hands a payload to the owner, which may reset or close the channel from it. */
  deliver(payload: Uint8Array): void;
  /** Whether an ack frame may go now: the channel is open and knows its peer's epoch. */
  canAck(): boolean;
  /** Writes an ack frame: everything through `ack` was delivered. */
  publishAck(ack: number): void;
  /** Writes a nack frame: everything through `ack` was delivered, `ack + 1` to `to` is missing. */
  publishNack(ack: number, to: number): void;
}

type ReceiveOptions = Pick<Required<ReliableChannelOptions>, 'windowFrames' | 'windowBytes' | 'resendTimeout' | 'ackDelay' | 'ackEvery'>;

export class ReceiveWindow {
  private expected = 1;
  private readonly early = new Map<number, Uint8Array>();
  private earlyBytes = 0;
  /** Frames delivered since the last ack went (on its own or on a data frame). */
  private unackedIn = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private lastNackFrom = 0;
  private lastNackAt = Number.NEGATIVE_INFINITY;
  /** Changes when the session ends or the channel closes: a delivery loop started before stops. */
  private session = 0;

  constructor(
    private readonly host: ReceiveHost,
    private readonly options: ReceiveOptions,
    private readonly stats: ChannelStats,
  ) {}

  /** The sequence number of the last frame delivered to the owner in this session (0: none yet). */
  get deliveredSeq(): number {
    return this.expected - 1;
  }

  /** Data frame `seq` of the current session arrived. */
  receiveData(seq: number, payload: Uint8Array): void {
    if (seq < this.expected) {
      // The sender missed our ack: tell it again soon.
      this.stats.duplicates++;
      this.scheduleAck(true);
      return;
    }
    if (seq > this.expected) {
      this.stats.outOfOrder++;
      this.keepEarly(seq, payload);
      this.nack();
      return;
    }
    const session = this.session;
    this.deliver(payload);
    // The owner may have reset or closed the channel from onFrame.
    while (this.session === session) {
      const next = this.early.get(this.expected);
      if (next === undefined) break;
      this.early.delete(this.expected);
      this.earlyBytes -= next.byteLength;
      this.deliver(next);
    }
    if (this.session !== session) return;
    if (this.early.size > 0) this.nack();
    this.scheduleAck(false);
  }

  /** An ack rode along on a data frame of ours: none is due on its own. */
  ackSent(): void {
    this.unackedIn = 0;
    this.clearAckTimer();
  }

  /** @internal the ack timer's callback. */
  sendAck(): void {
    this.clearAckTimer();
    if (!this.host.canAck()) return;
    this.unackedIn = 0;
    this.host.publishAck(this.expected - 1);
  }

  /** The session ended: nothing received is kept, the next session starts at 1. */
  clear(): void {
    this.clearAckTimer();
    this.session++;
    this.expected = 1;
    this.early.clear();
    this.earlyBytes = 0;
    this.unackedIn = 0;
    this.lastNackFrom = 0;
  }

  /** The channel closed: no timer runs, a delivery loop stops. */
  close(): void {
    this.clearAckTimer();
    this.session++;
  }

  private deliver(payload: Uint8Array): void {
    this.expected++;
    this.unackedIn++;
    this.host.deliver(payload);
  }

  /** Buffers a frame that came before its predecessors, within the window's bounds (beyond them it is sent again later). */
  private keepEarly(seq: number, payload: Uint8Array): void {
    if (this.early.has(seq) || seq - this.expected >= this.options.windowFrames) return;
    if (this.earlyBytes + payload.byteLength > this.options.windowBytes) return;
    // A copy: the transport may reuse its read buffer.
    this.early.set(seq, payload.slice());
    this.earlyBytes += payload.byteLength;
  }

  /**
   * Asks for the first gap (from the next expected frame to the one before the
   * first early one), at most once per half `resendTimeout` for the same gap
   * start: a burst of early frames asks once.
   */
  private nack(): void {
    const now = Date.now();
    if (this.lastNackFrom === this.expected && now - this.lastNackAt < this.options.resendTimeout / 2) return;
    let to = this.expected;
    while (to - this.expected < this.options.windowFrames && !this.early.has(to + 1)) to++;
    this.lastNackFrom = this.expected;
    this.lastNackAt = now;
    this.unackedIn = 0;
    this.clearAckTimer();
    this.host.publishNack(this.expected - 1, to);
  }

  private scheduleAck(soon: boolean): void {
    if (!soon && this.unackedIn >= this.options.ackEvery) {
      this.sendAck();
      return;
    }
    if (this.ackTimer === undefined) this.ackTimer = setTimeout(onAckTimer, this.options.ackDelay, this);
  }

  private clearAckTimer(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }
}

function onAckTimer(receiving: ReceiveWindow): void {
  receiving.sendAck();
}
