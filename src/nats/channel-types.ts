/**
 * The types a reliable channel shares with its owner and its transport: the
 * callbacks, the sink, the options with their defaults, the counters.
 * reliable-channel.ts has the behaviour.
 */

/** Why a channel reset; `onReset` gets it. */
export type ResetReason =
  /** Frames of a new peer epoch arrived: the peer restarted or reset on its own. */
  | 'peer-restarted'
  /** The peer sent a reset frame naming our session. */
  | 'peer-reset'
  /** No ack progress for `stallTimeout` while frames were unacknowledged. */
  | 'stalled'
  /** The peer acknowledged a frame that was never sent: its state cannot be trusted. */
  | 'protocol'
  /** The owner called `reset()` (e.g. the peer's node was declared dead). */
  | 'owner';

/** What the channel calls back; one object per channel, no closures. */
export interface ChannelOwner {
  /** The next payload from the peer, in order, once per session. A view: copy it to keep it past the call. */
  onFrame(payload: Uint8Array): void;
  /** The session ended: the window and the receive state are empty; replay what the peer may have missed. */
  onReset(reason: ResetReason): void;
  /** A `send()` was refused for a full window, and the window has room again. */
  onDrain(): void;
}

/** Where a channel's frames go: a NATS subject of the peer's, or a fake in tests. */
export interface FrameSink {
  /** Publishes one encoded frame; delivery is at most once. */
  publish(frame: Uint8Array): void;
  /** Largest message the transport carries, in bytes (the NATS server's `max_payload`). */
  maxPayload(): number;
  /**
   * False while the transport is reconnecting: timed resends then wait (they
   * would only pile up in the client's buffer) until `resendNow()` after the
   * reconnect. Absent: always connected.
   */
  connected?(): boolean;
}

export interface ReliableChannelOptions {
  /** Most unacknowledged frames the sender keeps (and early frames the receiver buffers). Default `1024`. */
  readonly windowFrames?: number;
  /** Most unacknowledged payload bytes the sender keeps (and early bytes the receiver buffers). Default 16 MiB. */
  readonly windowBytes?: number;
  /** Longest wait before acknowledging delivered frames, in ms, when nothing is sent back to carry the ack. Default `10`. */
  readonly ackDelay?: number;
  /** Delivered frames after which an ack goes out at once. Default `32`. */
  readonly ackEvery?: number;
  /** First wait for an ack before the window is sent again, in ms; doubles while nothing is acknowledged. Default `200`. */
  readonly resendTimeout?: number;
  /** Longest wait between two resends of the window, in ms. Default `1000`. */
  readonly maxResendTimeout?: number;
  /** No ack progress for this long, in ms, with frames unacknowledged, resets the channel (`'stalled'`). Default `5000`. */
  readonly stallTimeout?: number;
}

export const DEFAULT_CHANNEL_OPTIONS: Required<ReliableChannelOptions> = Object.freeze({
  windowFrames: 1024,
  windowBytes: 16 * 1024 * 1024,
  ackDelay: 10,
  ackEvery: 32,
  resendTimeout: 200,
  maxResendTimeout: 1000,
  stallTimeout: 5000,
});

/** Counters of one channel (plain numbers; the owner exports them as metrics). */
export interface ChannelStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Data frames sent again (on a nack or a timeout). */
  resends: number;
  /** Nacks received (each asks for one gap). */
  nacks: number;
  /** Resend timeouts that fired with frames unacknowledged. */
  timeouts: number;
  /** Data frames that arrived twice (dropped, never delivered twice). */
  duplicates: number;
  /** Data frames that arrived after a gap (buffered or dropped, then a nack). */
  outOfOrder: number;
  /** Frames of an ended session (answered with a reset frame, dropped). */
  stale: number;
  /** Bytes that are not a frame. */
  malformed: number;
  resets: number;
}
