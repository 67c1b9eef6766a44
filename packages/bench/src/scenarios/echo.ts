/**
 * echo: every connection keeps `inflight` messages outstanding (closed loop)
 * or the shard sends its share of `rate` msgs/s (open loop). Echo replies keep
 * their order per connection, so each reply's latency is now minus the oldest
 * send time in that connection's FIFO: no parsing on the hot path.
 */
import { closeAll, onFrames, openMany, type BenchSocket } from '../connections';
import { every, measuredWindow, sleep, waitUntil, type ShardControl } from '../control';
import { createHistogram, encodeHistogram } from '../histogram';
import type { BenchOptions } from '../options';
import { echoPayload } from '../payload';
import type { Counts, ShardResult } from '../result';
import { frameFor } from '../socketio';
import type { Shard } from '../source-address';

/** A FIFO of send times (ms) that grows when needed; shift() on an Array is O(n). */
export class TimeFifo {
  private buffer: Float64Array;
  private head = 0;
  size = 0;

  constructor(capacity = 16) {
    this.buffer = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.size === this.buffer.length) {
      const bigger = new Float64Array(this.buffer.length * 2);
      for (let i = 0; i < this.size; i++) bigger[i] = this.buffer[(this.head + i) % this.buffer.length] as number;
      this.buffer = bigger;
      this.head = 0;
    }
    this.buffer[(this.head + this.size) % this.buffer.length] = value;
    this.size++;
  }

  /** The oldest value; NaN when empty (a reply nobody asked for). */
  shift(): number {
    if (this.size === 0) return Number.NaN;
    const value = this.buffer[this.head] as number;
    this.head = (this.head + 1) % this.buffer.length;
    this.size--;
    return value;
  }
}

/** How long in-flight replies may take to arrive after the window before they are given up. */
const DRAIN_MS = 2000;

export async function runEcho(options: BenchOptions, shard: Shard, control: ShardControl): Promise<ShardResult> {
  const opened = await openMany(options, shard, 0);
  const sockets = opened.sockets;
  const errors: Counts = { ...opened.errors };
  const closeCodes: Counts = {};
  // Wrapped once (a Socket.IO event with --protocol socketio); replies are only counted, never parsed.
  const payload = frameFor(options.protocol, echoPayload(options.size));
  const histogram = createHistogram();
  const fifos = sockets.map(() => new TimeFifo(Math.max(16, options.inflight)));
  const openLoop = options.rate > 0;
  let stopping = false;
  let sending = false;
  let measureFrom = Number.POSITIVE_INFINITY;
  let measureTo = Number.POSITIVE_INFINITY;
  let received = 0, messages = 0, sent = 0, inFlight = 0;

  const send = (socket: BenchSocket, fifo: TimeFifo): void => {
    const now = performance.now();
    fifo.push(now);
    inFlight++;
    if (now >= measureFrom && now < measureTo) sent++;
    socket.send(payload, { binary: false });
  };

  sockets.forEach((socket, index) => {
    const fifo = fifos[index] as TimeFifo;
    onFrames(socket, options.protocol, () => {
      const now = performance.now();
      const sentAt = fifo.shift();
      received++;
      if (Number.isNaN(sentAt)) {
        errors['unsolicited reply'] = (errors['unsolicited reply'] ?? 0) + 1;
        return;
      }
      inFlight--;
      if (now >= measureFrom && now < measureTo) {
        messages++;
        histogram.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
      }
      if (sending && !openLoop) send(socket, fifo);
    }, (reason) => {
      errors[reason] = (errors[reason] ?? 0) + 1;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code ?? error.message;
      errors[reason] = (errors[reason] ?? 0) + 1;
    });
    socket.on('close', (code: number) => {
      if (stopping) return;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      errors[`closed ${code}`] = (errors[`closed ${code}`] ?? 0) + 1;
    });
  });

  await control.ready();
  const stopProgress = every(500, () => control.progress(received));
  const start = performance.now();
  measureFrom = start + options.warmup * 1000;
  measureTo = measureFrom + options.duration * 1000;
  sending = true;
  const measured = measuredWindow(control, options.warmup * 1000);
  let ticker: NodeJS.Timeout | undefined;
  if (openLoop) {
    // This shard's share of the total rate, spread round-robin over its connections.
    const perMs = (options.rate * (shard.count / options.connections)) / 1000;
    let issued = 0, cursor = 0;
    ticker = setInterval(() => {
      if (sockets.length === 0) return;
      const due = Math.floor((performance.now() - start) * perMs) - issued;
      for (let i = 0; i < due; i++) {
        const index = cursor++ % sockets.length;
        send(sockets[index] as BenchSocket, fifos[index] as TimeFifo);
      }
      issued += Math.max(0, due);
    }, 1);
  } else {
    sockets.forEach((socket, index) => {
      for (let i = 0; i < options.inflight; i++) send(socket, fifos[index] as TimeFifo);
    });
  }
  await sleep(measureTo - performance.now());
  const cpuMicros = measured.end();
  sending = false;
  clearInterval(ticker);
  await waitUntil(() => inFlight === 0, DRAIN_MS);
  if (inFlight > 0) errors['no reply'] = (errors['no reply'] ?? 0) + inFlight;
  stopProgress();
  control.progress(received);
  stopping = true;
  await closeAll(sockets);
  return {
    scenario: 'echo',
    connections: shard.count,
    opened: sockets.length,
    messages,
    sent,
    windowMs: options.duration * 1000,
    connectMs: opened.elapsedMs,
    missed: 0,
    published: 0,
    withoutEnd: 0,
    lastSeqSumWithoutEnd: 0,
    errors,
    closeCodes,
    cpuMicros,
    histogram: encodeHistogram(histogram),
  };
}
