/**
 * The reliable channel against a fake transport that drops, reorders and
 * duplicates frames (seeded, so every run is the same), with jest's fake
 * clock: every payload reaches the owner once and in order, or the owner
 * hears a reset; never a silent gap, never an unmarked duplicate.
 */
import { isSwitchyardError } from '../../src/errors';
import { FRAME_HEADER_BYTES, decodeFrame, encodeFrame } from '../../src/nats/frame';
import { ReliableChannel, type ChannelOwner, type FrameSink, type ReliableChannelOptions, type ResetReason } from '../../src/nats/reliable-channel';

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Faults {
  readonly drop?: number;
  readonly duplicate?: number;
  /** Chance that a frame is held back and delivered after the next few. */
  readonly reorder?: number;
}

/** One direction of the fake network: frames queue here until `deliver()`. */
class FakeLink implements FrameSink {
  readonly queue: Uint8Array[] = [];
  published = 0;
  down = false;
  /** What `connected()` answers (the NATS client reconnecting when false). */
  up = true;
  faults: Faults = {};
  target: ReliableChannel | undefined;
  constructor(
    private readonly random: () => number,
    private readonly limit = 1024 * 1024,
  ) {}

  publish(frame: Uint8Array): void {
    this.published++;
    if (this.down) return;
    this.queue.push(frame);
  }

  maxPayload(): number {
    return this.limit;
  }

  connected(): boolean {
    return this.up;
  }

  /** Hands every queued frame to the target, with faults. */
  deliver(): void {
    const batch = this.queue.splice(0);
    const late: Uint8Array[] = [];
    for (const frame of batch) {
      const roll = this.random();
      if (roll < (this.faults.drop ?? 0)) continue;
      if (this.random() < (this.faults.reorder ?? 0)) {
        late.push(frame);
        continue;
      }
      this.target?.receive(frame);
      if (this.random() < (this.faults.duplicate ?? 0)) this.target?.receive(frame);
    }
    for (const frame of late.reverse()) this.target?.receive(frame);
  }
}

/** An owner that records what it got, as the link above would, and replays on reset if told to. */
class Recorder implements ChannelOwner {
  readonly received: string[] = [];
  readonly resets: ResetReason[] = [];
  drains = 0;
  onResetHook: ((reason: ResetReason) => void) | undefined;
  onFrame(payload: Uint8Array): void {
    this.received.push(Buffer.from(payload).toString());
  }
  onReset(reason: ResetReason): void {
    this.resets.push(reason);
    this.onResetHook?.(reason);
  }
  onDrain(): void {
    this.drains++;
  }
}

interface Pair {
  readonly a: ReliableChannel;
  readonly b: ReliableChannel;
  readonly aOwner: Recorder;
  readonly bOwner: Recorder;
  readonly toB: FakeLink;
  readonly toA: FakeLink;
}

const channels: ReliableChannel[] = [];

function pair(seed: number, options: ReliableChannelOptions = {}, limit?: number): Pair {
  const random = prng(seed);
  const toB = new FakeLink(random, limit);
  const toA = new FakeLink(random, limit);
  const aOwner = new Recorder();
  const bOwner = new Recorder();
  const a = new ReliableChannel(toB, aOwner, options);
  const b = new ReliableChannel(toA, bOwner, options);
  toB.target = b;
  toA.target = a;
  channels.push(a, b);
  return { a, b, aOwner, bOwner, toB, toA };
}

/** Runs the network and the clock: deliver both ways, advance 5 ms, `steps` times. */
function run(p: Pick<Pair, 'toA' | 'toB'>, steps: number): void {
  for (let i = 0; i < steps; i++) {
    p.toB.deliver();
    p.toA.deliver();
    jest.advanceTimersByTime(5);
  }
}

function payload(n: number): Buffer {
  return Buffer.from(String(n));
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  jest.useRealTimers();
});

test('a clean network delivers every frame once, in order, with few acks', () => {
  const p = pair(1);
  for (let n = 1; n <= 500; n++) expect(p.a.send(payload(n))).toBe(true);
  run(p, 10);
  expect(p.bOwner.received).toEqual(range(1, 500));
  expect(p.a.unacknowledged).toBe(0);
  expect(p.a.stats.resends).toBe(0);
  // Cumulative acks: about one per ackEvery (32) frames, not one per frame.
  expect(p.toA.published).toBeLessThan(30);
  expect(p.aOwner.resets).toEqual([]);
});

test.each([
  ['drops', { drop: 0.2 }],
  ['duplicates', { duplicate: 0.3 }],
  ['reorders', { reorder: 0.3 }],
  ['drops, duplicates and reorders', { drop: 0.15, duplicate: 0.15, reorder: 0.15 }],
])('a network that %s still delivers every frame once and in order, both ways', (_name, faults: Faults) => {
  for (const seed of [2, 3, 4]) {
    const p = pair(seed);
    p.toA.faults = faults;
    p.toB.faults = faults;
    let sent = 0;
    // Sent in bursts while the network runs, as a stream is, both ways at once.
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 25; i++) {
        sent++;
        expect(p.a.send(payload(sent))).toBe(true);
        expect(p.b.send(payload(sent))).toBe(true);
      }
      run(p, 2);
    }
    // Until both have everything (a frame dropped again and again waits for backed-off resends), at most 30 s of fake time.
    for (let step = 0; step < 6000 && (p.a.unacknowledged > 0 || p.b.unacknowledged > 0); step++) run(p, 1);
    run(p, 10);
    expect(p.bOwner.received).toEqual(range(1, sent));
    expect(p.aOwner.received).toEqual(range(1, sent));
    expect(p.aOwner.resets).toEqual([]);
    expect(p.bOwner.resets).toEqual([]);
    expect(p.a.unacknowledged).toBe(0);
    expect(p.b.unacknowledged).toBe(0);
    if (faults.drop !== undefined) expect(p.a.stats.resends).toBeGreaterThan(0);
    if (faults.duplicate !== undefined) expect(p.b.stats.duplicates).toBeGreaterThan(0);
    if (faults.reorder !== undefined) expect(p.b.stats.outOfOrder).toBeGreaterThan(0);
  }
});

test('lost tail frames (no later frame shows the gap) are resent after resendTimeout', () => {
  const p = pair(5);
  for (let n = 1; n <= 10; n++) p.a.send(payload(n));
  p.toB.queue.splice(5); // frames 6..10 lost
  run(p, 1);
  expect(p.bOwner.received).toEqual(range(1, 5));
  run(p, 60); // 300 ms: past the first resendTimeout (200 ms)
  expect(p.bOwner.received).toEqual(range(1, 10));
  expect(p.a.stats.resends).toBeGreaterThanOrEqual(5);
  expect(p.aOwner.resets).toEqual([]);
});

test('a large hole is sent again about once, not once per frame that fills it (no nack storm)', () => {
  const p = pair(18);
  for (let n = 1; n <= 600; n++) p.a.send(payload(n));
  // Frames 2..501 are lost; the frames after the hole make b nack it.
  p.toB.queue.splice(1, 500);
  // The resent hole arrives in order, so each of its frames moves b's gap start by one and b nacks again.
  for (let step = 0; step < 400 && p.a.unacknowledged > 0; step++) run(p, 1);
  expect(p.bOwner.received).toEqual(range(1, 600));
  expect(p.b.stats.framesSent).toBeGreaterThan(400); // the nacks
  // Quadratic without the per-frame resend guard: about 500 × 250 frames.
  expect(p.a.stats.resends).toBeLessThan(1000);
});

test('while the transport reconnects, timed resends wait; resendNow() after the reconnect sends the window at once', () => {
  const p = pair(19);
  for (let n = 1; n <= 10; n++) p.a.send(payload(n));
  p.toB.queue.length = 0; // in flight when the server died
  p.toB.up = false;
  run(p, 200); // 1 s: several resend timeouts' worth
  expect(p.a.stats.resends).toBe(0);
  expect(p.bOwner.received).toEqual([]);
  p.toB.up = true;
  p.a.resendNow();
  expect(p.a.stats.resends).toBe(10);
  run(p, 2);
  expect(p.bOwner.received).toEqual(range(1, 10));
  expect(p.aOwner.resets).toEqual([]);
});

test('a full window refuses send() and calls onDrain once acks make room', () => {
  const p = pair(6, { windowFrames: 8 });
  for (let n = 1; n <= 8; n++) expect(p.a.send(payload(n))).toBe(true);
  expect(p.a.send(payload(9))).toBe(false);
  expect(p.aOwner.drains).toBe(0);
  run(p, 5);
  expect(p.aOwner.drains).toBe(1);
  expect(p.a.send(payload(9))).toBe(true);
  run(p, 5);
  expect(p.bOwner.received).toEqual(range(1, 9));
});

test('the byte bound of the window refuses too (one frame larger than it alone is accepted)', () => {
  const p = pair(7, { windowBytes: 100 });
  expect(p.a.send(Buffer.alloc(150))).toBe(true);
  expect(p.a.send(Buffer.alloc(1))).toBe(false);
  run(p, 5);
  expect(p.aOwner.drains).toBe(1);
});

test('a payload over max_payload less the header throws SY_ERR_NATS_FRAME_TOO_LARGE; one that fits is sent', () => {
  const p = pair(8, {}, 1000);
  expect(p.a.maxFramePayload()).toBe(1000 - FRAME_HEADER_BYTES);
  expect(p.a.send(Buffer.alloc(1000 - FRAME_HEADER_BYTES))).toBe(true);
  let caught: unknown;
  try {
    p.a.send(Buffer.alloc(1000 - FRAME_HEADER_BYTES + 1));
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught, 'SY_ERR_NATS_FRAME_TOO_LARGE')).toBe(true);
  expect(p.a.unacknowledged).toBe(1);
});

test('malformed bytes are counted and named, never thrown, and change nothing', () => {
  const p = pair(9);
  p.a.send(payload(1));
  run(p, 3);
  const frame = encodeFrame({ kind: 'data', epoch: 5, peerEpoch: 0, ack: 0, seq: 1, payload: payload(1) });
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    Buffer.from('{"hello":"json"}'),
    Buffer.concat([Buffer.from([2]), frame.subarray(1)]), // version 2
    Buffer.concat([frame.subarray(0, 1), Buffer.from([9]), frame.subarray(2)]), // kind 9
    encodeFrame({ kind: 'data', epoch: 5, peerEpoch: 0, ack: 0, seq: 1, payload: payload(1) }).fill(0, 2, 8), // epoch 0
  ];
  for (const bytes of bad) expect(typeof p.b.receive(bytes)).toBe('string');
  expect(p.b.stats.malformed).toBe(bad.length);
  expect(p.bOwner.received).toEqual(['1']);
  expect(p.bOwner.resets).toEqual([]);
  expect(decodeFrame(frame).ok).toBe(true);
});

test('a restarted peer (a new channel, new epoch) resets the survivor, which replays; the new peer never sees the old session', () => {
  const p = pair(10);
  for (let n = 1; n <= 20; n++) p.a.send(payload(n));
  run(p, 5);
  expect(p.bOwner.received).toEqual(range(1, 20));
  // A few more in flight when b dies.
  for (let n = 21; n <= 25; n++) p.a.send(payload(n));
  p.toB.queue.length = 0;
  p.b.close();
  const b2Owner = new Recorder();
  const b2 = new ReliableChannel(p.toA, b2Owner);
  channels.push(b2);
  p.toB.target = b2;
  // The owner replays what its peer never confirmed at its own level: here, from 21, marked.
  p.aOwner.onResetHook = () => {
    for (let n = 21; n <= 25; n++) p.a.send(Buffer.from(`${n} redelivered`));
  };
  b2.send(payload(1000)); // the new peer speaks first (its hello)
  run(p, 20);
  expect(p.aOwner.resets).toEqual(['peer-restarted']);
  expect(p.aOwner.received).toEqual(['1000']);
  expect(b2Owner.received).toEqual(range(21, 25).map((n) => `${n} redelivered`));
  expect(b2Owner.resets).toEqual([]);
});

test('frames for a peer\'s previous incarnation are answered with a reset, never delivered', () => {
  const p = pair(11);
  for (let n = 1; n <= 5; n++) p.a.send(payload(n));
  run(p, 5);
  // b restarts silently (it sends nothing); a keeps sending to the old b.
  p.b.close();
  const b2Owner = new Recorder();
  const b2 = new ReliableChannel(p.toA, b2Owner);
  channels.push(b2);
  p.toB.target = b2;
  p.a.send(payload(6));
  run(p, 20);
  expect(b2Owner.received).toEqual([]);
  expect(b2.stats.stale).toBeGreaterThanOrEqual(1);
  expect(p.aOwner.resets).toEqual(['peer-reset']);
  // After the reset, a's new session reaches b2 from its first frame.
  p.a.send(payload(7));
  run(p, 5);
  expect(b2Owner.received).toEqual(['7']);
});

test('an owner reset tells the peer (reset frame); if that frame is lost, the new epoch tells it', () => {
  const told = pair(12);
  told.a.send(payload(1));
  run(told, 5);
  told.a.reset();
  run(told, 5);
  expect(told.aOwner.resets).toEqual(['owner']);
  expect(told.bOwner.resets).toEqual(['peer-reset']);

  const lost = pair(13);
  lost.a.send(payload(1));
  run(lost, 5);
  lost.a.reset();
  lost.toB.queue.length = 0; // the reset frame is lost
  lost.a.send(payload(2));
  run(lost, 5);
  expect(lost.bOwner.resets).toEqual(['peer-restarted']);
  expect(lost.bOwner.received).toEqual(['1', '2']);
});

test('no ack progress for stallTimeout resets both ends (stalled), with a bounded number of resends', () => {
  const p = pair(14, { stallTimeout: 1000 });
  p.a.send(payload(1));
  run(p, 3);
  p.toB.down = true; // a's frames go nowhere from now on
  p.a.send(payload(2));
  run(p, 150); // 750 ms
  expect(p.aOwner.resets).toEqual([]);
  const resendsBefore = p.a.stats.resends;
  expect(resendsBefore).toBeGreaterThan(0);
  expect(resendsBefore).toBeLessThan(10); // backoff: 200, 400, … not one per tick
  p.toB.down = false;
  p.toB.queue.length = 0;
  p.toB.down = true;
  run(p, 100); // past 1000 ms without progress
  expect(p.aOwner.resets).toEqual(['stalled']);
  expect(p.a.unacknowledged).toBe(0);
  p.toB.down = false;
  // a's reset frame was lost with the rest; a's next session tells b.
  p.a.send(payload(3));
  run(p, 5);
  expect(p.bOwner.resets).toEqual(['peer-restarted']);
  expect(p.bOwner.received).toEqual(['1', '3']);
});

test('an ack for a frame never sent resets (protocol); the owner may send from onFrame and onReset', () => {
  const p = pair(15);
  p.a.send(payload(1));
  run(p, 5);
  const forged = encodeFrame({ kind: 'ack', epoch: p.b.epoch, peerEpoch: p.a.epoch, ack: 99 });
  p.a.receive(forged);
  expect(p.aOwner.resets).toEqual(['protocol']);

  // An echo owner: answers from inside onFrame.
  const echo = pair(16);
  echo.bOwner.onFrame = function (this: Recorder, bytes: Uint8Array): void {
    this.received.push(Buffer.from(bytes).toString());
    echo.b.send(Buffer.from(`echo ${Buffer.from(bytes).toString()}`));
  };
  for (let n = 1; n <= 50; n++) echo.a.send(payload(n));
  run(echo, 10);
  expect(echo.aOwner.received).toEqual(range(1, 50).map((n) => `echo ${n}`));
});

test('close() stops every timer and ignores later frames', () => {
  const p = pair(17);
  p.a.send(payload(1));
  p.toB.queue.length = 0;
  p.a.close();
  expect(jest.getTimerCount()).toBe(0);
  p.b.send(payload(1));
  p.toA.deliver();
  expect(p.aOwner.received).toEqual([]);
  expect(() => p.a.send(payload(2))).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_STATE' }));
});

/**
 * The owner protocol a link runs above the channel, in miniature: the sender
 * keeps every message until the receiver's owner confirms it (an app-level
 * ack sent back over the channel), and after a reset replays what is not
 * confirmed, marking what it had sent before; a (re)started receiver says
 * hello first, as a link does (an idle channel cannot notice a restart by
 * itself). Under drops, duplicates, reorders, peer restarts and owner resets, the receiver must get every
 * message, in order within each session, and see a message twice only where
 * it is marked.
 */
test.each([21, 22, 23, 24, 25, 26, 27, 28])('chaos (seed %i): restarts and resets lose nothing and duplicate only what is marked', (seed) => {
  const random = prng(seed * 7919);
  const toB = new FakeLink(random);
  const toA = new FakeLink(random);
  const faults = { drop: 0.1, duplicate: 0.1, reorder: 0.1 };
  toB.faults = faults;
  toA.faults = faults;

  interface Pending {
    readonly n: number;
    sent: boolean;
  }
  const unconfirmed: Pending[] = [];
  let nextToSend = 0;
  let created = 0;
  const deliveries = new Map<number, number>();
  const violations: string[] = [];
  let sessionLast: number | undefined;

  const aOwner: ChannelOwner = {
    onFrame(bytes) {
      const text = Buffer.from(bytes).toString();
      if (text === 'hello') return;
      const confirmed = Number(text);
      while (unconfirmed.length > 0 && (unconfirmed[0] as Pending).n <= confirmed) {
        unconfirmed.shift();
        nextToSend = Math.max(0, nextToSend - 1);
      }
    },
    onReset() {
      nextToSend = 0; // replay everything not confirmed
    },
    onDrain() {
      pump();
    },
  };
  const a = new ReliableChannel(toB, aOwner);
  channels.push(a);
  toA.target = a;

  let b: ReliableChannel | undefined;
  const bOwner: ChannelOwner = {
    onFrame(bytes) {
      const [text, mark] = Buffer.from(bytes).toString().split(' ');
      const n = Number(text);
      const seen = deliveries.get(n) ?? 0;
      if (seen > 0 && mark !== 'r') violations.push(`${n} delivered again unmarked`);
      if (sessionLast !== undefined && n !== sessionLast + 1) violations.push(`${n} after ${sessionLast} in one session`);
      sessionLast = n;
      deliveries.set(n, seen + 1);
      b?.send(Buffer.from(String(n)));
    },
    onReset() {
      sessionLast = undefined;
    },
    onDrain() {},
  };
  const startB = (): void => {
    b = new ReliableChannel(toA, bOwner);
    channels.push(b);
    toB.target = b;
    sessionLast = undefined;
    // A restarted end speaks first, as a link's hello does: an idle channel cannot notice a restart by itself.
    b.send(Buffer.from('hello'));
  };
  startB();

  function pump(): void {
    while (nextToSend < unconfirmed.length) {
      const item = unconfirmed[nextToSend] as Pending;
      if (!a.send(Buffer.from(item.sent ? `${item.n} r` : String(item.n)))) return;
      item.sent = true;
      nextToSend++;
    }
  }

  let restarts = 0;
  let resets = 0;
  for (let step = 0; step < 3000; step++) {
    if (created < 2000 && random() < 0.7) {
      unconfirmed.push({ n: ++created, sent: false });
      pump();
    }
    const roll = random();
    if (roll < 0.002) {
      b?.close(); // b's process restarts: a new channel, nothing remembered
      restarts++;
      startB();
    } else if (roll < 0.003) {
      a.reset();
      resets++;
      pump();
    }
    toB.deliver();
    toA.deliver();
    pump();
    jest.advanceTimersByTime(5);
  }
  toB.faults = {};
  toA.faults = {};
  for (let step = 0; step < 4000 && unconfirmed.length > 0; step++) {
    pump();
    toB.deliver();
    toA.deliver();
    jest.advanceTimersByTime(5);
  }
  expect(violations).toEqual([]);
  expect(unconfirmed).toEqual([]);
  expect([...deliveries.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: created }, (_, i) => i + 1));
  expect(restarts + resets).toBeGreaterThan(0);
});
