/**
 * One reliable, ordered, bidirectional channel between two endpoints over
 * core NATS, which delivers at most once (a publisher's server dying loses
 * what it had not forwarded). Like a TCP connection over datagrams:
 *
 * - every data frame carries a sequence number; the receiver delivers them to
 *   its owner in order, exactly once per session, buffering a bounded number
 *   that arrive early and dropping duplicates;
 * - the receiver acknowledges cumulatively (piggybacked on its own data
 *   frames, else after `ackDelay` or every `ackEvery` frames) and asks for a
 *   missing frame with a nack;
 * - the sender keeps every unacknowledged frame in a bounded window and sends
 *   them again on a nack or when no ack came for `resendTimeout` (doubling up
 *   to `maxResendTimeout`); a full window refuses `send()` (backpressure, as a
 *   busy socket: the owner holds and waits for `onDrain`);
 * - a session is named by both ends' epochs (random, new after each reset). A
 *   gap that cannot be filled ends it: the peer restarted (a new epoch), the
 *   peer reset, frames for an old session of ours arrive, no ack progress for
 *   `stallTimeout`, or the peer acknowledged what was never sent. Both ends
 *   then reset (the one that notices tells the other with a reset frame) and
 *   report it to their owner through `onReset`, which replays what it had not
 *   seen acknowledged at its own level, as a reconnect does on one machine.
 *
 * So the owner sees every frame once and in order, or a reset: never a silent
 * gap, never an unmarked duplicate. Frame format: frame.ts; the rules and
 * their reasons: docs/nats.md. This module owns the session and the send
 * side's timers; the unacknowledged frames are `send-window.ts`, the receive
 * side (in-order delivery, early frames, acks, nacks) `receive-window.ts`.
 */
import { randomInt } from 'node:crypto';
import { SwitchyardError } from '../errors';
import { DEFAULT_CHANNEL_OPTIONS, type ChannelOwner, type ChannelStats, type FrameSink, type ReliableChannelOptions, type ResetReason } from './channel-types';
import { FRAME_HEADER_BYTES, MAX_UINT48, decodeFrame, encodeFrame, type Frame } from './frame';
import { ReceiveWindow } from './receive-window';
import { SendWindow } from './send-window';

export { DEFAULT_CHANNEL_OPTIONS } from './channel-types';
export type { ChannelOwner, ChannelStats, FrameSink, ReliableChannelOptions, ResetReason } from './channel-types';

/** How many ended peer epochs a channel remembers, so their late frames are known as stale. */
const RETIRED_EPOCHS = 8;

function newEpoch(): number {
  return randomInt(1, MAX_UINT48 + 1);
}

export class ReliableChannel {
  readonly stats: ChannelStats = {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    resends: 0,
    nacks: 0,
    timeouts: 0,
    duplicates: 0,
    outOfOrder: 0,
    stale: 0,
    malformed: 0,
    resets: 0,
  };
  private readonly options: Required<ReliableChannelOptions>;
  private epochValue = newEpoch();
  private peerEpoch = 0;
  private readonly retired: number[] = [];
  private closed = false;

  // Sending.
  private lastSeq = 0;
  private readonly window = new SendWindow();
  private refused = false;
  private resendTimer: NodeJS.Timeout | undefined;
  private resendWait: number;
  private lastProgressAt = 0;

  // Receiving: in-order delivery, early frames, acks and nacks (receive-window.ts).
  private readonly receiving: ReceiveWindow;
  private lastResetTo = 0;
  private lastResetAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sink: FrameSink,
    private readonly owner: ChannelOwner,
    options: ReliableChannelOptions = {},
  ) {
    this.options = { ...DEFAULT_CHANNEL_OPTIONS, ...options };
    this.resendWait = this.options.resendTimeout;
    this.receiving = new ReceiveWindow(
      {
        deliver: (payload) => this.owner.onFrame(payload),
        canAck: () => !this.closed && this.peerEpoch !== 0,
        publishAck: (ack) => this.publish({ kind: 'ack', epoch: this.epochValue, peerEpoch: this.peerEpoch, ack }),
        publishNack: (ack, to) => this.publish({ kind: 'nack', epoch: this.epochValue, peerEpoch: this.peerEpoch, ack, to }),
      },
      this.options,
      this.stats,
    );
  }

  /** This end's current epoch (new after every reset). */
  get epoch(): number {
    return this.epochValue;
  }

  /** Frames sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.window.size;
  }

  /** The sequence number of the last data frame sent in this session (0: none yet). */
  get sentSeq(): number {
    return this.lastSeq;
  }

  /** Every data frame of this session up to this sequence number was acknowledged by the peer. */
  get acknowledgedSeq(): number {
    return this.window.size === 0 ? this.lastSeq : this.window.firstSeq - 1;
  }

  /** The sequence number of the last frame delivered to the owner in this session (0: none yet). */
  get deliveredSeq(): number {
    return this.receiving.deliveredSeq;
  }

  /** Largest payload `send()` accepts: the transport's `max_payload` less the frame header. */
  maxFramePayload(): number {
    return this.sink.maxPayload() - FRAME_HEADER_BYTES;
  }

  /**
   * Sends `payload` (not copied: do not modify it afterwards). False when the
   * window is full: nothing was sent, and `onDrain` follows once there is room.
   * Throws `SY_ERR_NATS_FRAME_TOO_LARGE` for a payload over `maxFramePayload()`.
   */
  send(payload: Uint8Array): boolean {
    if (this.closed) throw new SwitchyardError('SY_ERR_INVALID_STATE', 'send() on a closed channel');
    if (payload.byteLength > this.maxFramePayload()) {
      throw new SwitchyardError(
        'SY_ERR_NATS_FRAME_TOO_LARGE',
        `a frame of ${payload.byteLength} bytes does not fit the NATS server's max_payload (${this.sink.maxPayload()} bytes, ${FRAME_HEADER_BYTES} of them for the header)`,
      );
    }
    const held = this.unacknowledged;
    if (held >= this.options.windowFrames || (held > 0 && this.window.bytes + payload.byteLength > this.options.windowBytes)) {
      this.refused = true;
      return false;
    }
    const seq = ++this.lastSeq;
    const now = Date.now();
    if (held === 0) this.lastProgressAt = now;
    this.window.push(seq, payload, now);
    this.publishData(seq, payload);
    this.armResend();
    return true;
  }

  /**
   * The transport reconnected: what was in flight may have died with the old
   * server, so the unacknowledged frames go again now (those sent less than
   * half a `resendTimeout` ago excepted) rather than at the next timeout.
   */
  resendNow(): void {
    if (this.closed || this.unacknowledged === 0) return;
    this.resend(this.window.firstSeq, this.lastSeq, Date.now());
  }

  /** Ends the session now (the peer hears of it) and reports `'owner'`. */
  reset(): void {
    if (!this.closed) this.resetSession('owner', true);
  }

  /** Stops every timer; later frames are ignored and `send()` throws. */
  close(): void {
    this.closed = true;
    this.receiving.close();
    this.clearResendTimer();
  }

  /**
   * One message from the peer's subject. Returns why it is not a frame when
   * it is not (the caller counts and logs it, throttled), else undefined.
   */
  receive(bytes: Uint8Array): string | undefined {
    if (this.closed) return undefined;
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.stats.malformed++;
      return decoded.reason;
    }
    const frame = decoded.frame;
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes.byteLength;
    if (frame.kind === 'reset') {
      // A reset ends only the session it names: a late one for an older session changes nothing.
      if (frame.peerEpoch === this.epochValue) this.resetSession('peer-reset', false);
      return undefined;
    }
    if (this.isStale(frame)) {
      this.stats.stale++;
      this.tellStale(frame.epoch);
      return undefined;
    }
    if (this.peerEpoch !== 0 && frame.epoch !== this.peerEpoch) {
      this.resetSession('peer-restarted', false);
      if (this.closed) return undefined; // the owner closed it from onReset
      // It named our previous epoch: a frame of the session that just ended.
      if (frame.peerEpoch !== 0) {
        this.stats.stale++;
        this.tellStale(frame.epoch);
        return undefined;
      }
    }
    if (this.peerEpoch === 0) this.peerEpoch = frame.epoch;
    if (frame.ack > 0 && !this.acknowledge(frame.ack)) return undefined;
    switch (frame.kind) {
      case 'data':
        this.receiving.receiveData(frame.seq, frame.payload);
        break;
      case 'ack':
        break;
      case 'nack':
        this.stats.nacks++;
        this.resendGap(frame.ack + 1, frame.to);
        break;
      default: {
        const unknownKind: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unknownKind)}`);
      }
    }
    return undefined;
  }

  /** A frame of an ended session: from a retired peer epoch, or naming an epoch of ours that is not the current one. */
  private isStale(frame: Frame): boolean {
    return this.retired.includes(frame.epoch) || (frame.peerEpoch !== 0 && frame.peerEpoch !== this.epochValue);
  }

  /** Tells a peer epoch that its session is over, at most once per `resendTimeout` (its frames may come in bursts). */
  private tellStale(epoch: number): void {
    const now = Date.now();
    if (epoch === this.lastResetTo && now - this.lastResetAt < this.options.resendTimeout) return;
    this.lastResetTo = epoch;
    this.lastResetAt = now;
    this.publish({ kind: 'reset', epoch: this.epochValue, peerEpoch: epoch, ack: 0 });
  }

  // ---- sending ----

  private publishData(seq: number, payload: Uint8Array): void {
    // The ack of what we received rides along: no separate ack frame needed.
    const ack = this.peerEpoch === 0 ? 0 : this.receiving.deliveredSeq;
    if (ack > 0) this.receiving.ackSent();
    this.publish({ kind: 'data', epoch: this.epochValue, peerEpoch: this.peerEpoch, ack, seq, payload });
  }

  private publish(frame: Frame): void {
    const bytes = encodeFrame(frame);
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.byteLength;
    this.sink.publish(bytes);
  }

  /** Applies a cumulative ack; false (after resetting) when it acknowledges what was never sent. */
  private acknowledge(ack: number): boolean {
    if (ack > this.lastSeq) {
      this.resetSession('protocol', true);
      return false;
    }
    if (!this.window.acknowledge(ack)) return true;
    this.lastProgressAt = Date.now();
    this.resendWait = this.options.resendTimeout;
    if (this.unacknowledged === 0) this.clearResendTimer();
    if (this.refused) {
      this.refused = false;
      this.owner.onDrain();
    }
    return true;
  }

  /** Sends frames `from` to `to` again (a nack). */
  private resendGap(from: number, to: number): void {
    if (from > this.lastSeq) return; // nothing missing: a late nack
    this.resend(from, Math.min(to, this.lastSeq), Date.now());
  }

  /**
   * Sends frames `from` to `to` of the window again (it holds consecutive
   * sequence numbers), skipping those sent less than half a `resendTimeout`
   * ago: while a resent hole is on its way, each frame that fills it moves the
   * receiver's gap start by one and brings another nack for the same hole,
   * which must not send the hole again each time (that was quadratic: half a
   * million frames for a 500-frame hole).
   */
  private resend(from: number, to: number, now: number): void {
    const recent = now - this.options.resendTimeout / 2;
    for (const frame of this.window.range(from, to)) {
      if (frame.sentAt > recent) continue;
      frame.sentAt = now;
      this.stats.resends++;
      this.publishData(frame.seq, frame.payload);
    }
  }

  private armResend(): void {
    if (this.resendTimer === undefined) this.resendTimer = setTimeout(onResendTimer, this.resendWait, this);
  }

  /** @internal the resend timer's callback: resend or stall, then re-arm while frames are unacknowledged. */
  resendDue(): void {
    this.resendTimer = undefined;
    if (this.closed || this.unacknowledged === 0) return;
    const now = Date.now();
    const quiet = now - this.lastProgressAt;
    if (quiet >= this.options.stallTimeout) {
      this.resetSession('stalled', true);
      return;
    }
    // An ack came meanwhile: wait the rest of a full interval from it, not from the timer's start.
    // While the transport is down, wait too: resendNow() follows the reconnect.
    if (quiet < this.resendWait || this.sink.connected?.() === false) {
      this.resendTimer = setTimeout(onResendTimer, Math.max(1, this.resendWait - quiet), this);
      return;
    }
    this.stats.timeouts++;
    this.resend(this.window.firstSeq, this.lastSeq, now);
    this.resendWait = Math.min(this.resendWait * 2, this.options.maxResendTimeout);
    this.resendTimer = setTimeout(onResendTimer, Math.min(this.resendWait, this.options.stallTimeout - quiet), this);
  }

  private clearResendTimer(): void {
    if (this.resendTimer !== undefined) clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
  }

  /** Ends the session: new epoch, empty window and receive state; tells the peer when it may not know yet. */
  private resetSession(reason: ResetReason, tellPeer: boolean): void {
    const oldPeer = this.peerEpoch;
    if (tellPeer && oldPeer !== 0) this.publish({ kind: 'reset', epoch: this.epochValue, peerEpoch: oldPeer, ack: 0 });
    if (oldPeer !== 0) {
      this.retired.push(oldPeer);
      if (this.retired.length > RETIRED_EPOCHS) this.retired.shift();
    }
    this.clearResendTimer();
    this.receiving.clear();
    this.epochValue = newEpoch();
    this.peerEpoch = 0;
    this.lastSeq = 0;
    this.window.clear();
    this.refused = false;
    this.resendWait = this.options.resendTimeout;
    this.stats.resets++;
    this.owner.onReset(reason);
  }
}

function onResendTimer(channel: ReliableChannel): void {
  channel.resendDue();
}
