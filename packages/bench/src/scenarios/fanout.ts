/**
 * fanout: the shard's subscribers connect, then (in shard 0) one publisher
 * sends numbered messages that the server must broadcast to every client.
 * Subscribers read the sequence number and send time at fixed offsets, count
 * deliveries and what they missed. The publisher paces itself by `rate`, or
 * keeps `inflight` messages outstanding, its own broadcast copy being the ack.
 * A final end marker carries the message count, so a subscriber also knows
 * what it missed at the tail. A subscription reaches the service after the
 * socket opened (its connect crosses its worker's link, or NATS with
 * `spread`), and the publisher's first message may cross another worker's
 * link ahead of it: the publisher first sends probes (sequence 0, not
 * counted) until every subscriber of its shard has heard one, so no
 * subscriber misses a publish sent before its subscription arrived.
 */
import { closeAll, onFrames, openMany, openSocket, targetUrl, type BenchSocket } from '../connections';
import { every, measuredWindow, sleep, waitUntil, type ShardControl } from '../control';
import { createHistogram, encodeHistogram } from '../histogram';
import type { BenchOptions } from '../options';
import { encodeStamped, epochMs, readEnd, readSeq, readTime } from '../payload';
import type { Counts, ShardResult } from '../result';
import { frameFor, layoutFor } from '../socketio';
import { loopbackAddress, type Shard } from '../source-address';

/** How long subscribers may take after the window to get the end marker. */
const END_WAIT_MS = 5000;
/** Most time the probes may take to reach every subscriber, and their interval. */
const PROBE_WAIT_MS = 10_000;
const PROBE_EVERY_MS = 20;

interface SubscriberState {
  /** Next sequence number expected; sequence numbers start at 1. */
  expected: number;
  ended: boolean;
  /** Heard a probe (sequence 0). */
  probed: boolean;
}

function bump(counts: Counts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

export async function runFanout(options: BenchOptions, shard: Shard, control: ShardControl): Promise<ShardResult> {
  const opened = await openMany(options, shard, 0);
  const sockets = opened.sockets;
  const errors: Counts = { ...opened.errors };
  const closeCodes: Counts = {};
  const histogram = createHistogram();
  let stopping = false;
  let measureFrom = Number.POSITIVE_INFINITY;
  let measureTo = Number.POSITIVE_INFINITY;
  let delivered = 0, messages = 0, missed = 0, ended = 0, probed = 0;
  const states: SubscriberState[] = sockets.map(() => ({ expected: 1, ended: false, probed: false }));
  // Field offsets in a received frame: fixed per protocol (a Socket.IO event shifts them), so still no parsing.
  const layout = layoutFor(options.protocol);
  const stray = (reason: string): void => bump(errors, reason);

  const watch = (socket: BenchSocket): void => {
    socket.on('error', (error: NodeJS.ErrnoException) => bump(errors, error.code ?? error.message));
    socket.on('close', (code: number) => {
      if (stopping) return;
      bump(closeCodes, String(code));
      bump(errors, `closed ${code}`);
    });
  };

  sockets.forEach((socket, index) => {
    const state = states[index] as SubscriberState;
    watch(socket);
    onFrames(socket, options.protocol, (data: Buffer) => {
      const seq = readSeq(data, layout);
      if (Number.isNaN(seq)) return bump(errors, 'not a bench message');
      if (seq === 0) {
        if (!state.probed) probed++;
        state.probed = true;
        return;
      }
      if (readEnd(data, layout)) {
        // seq of the end marker = messages published.
        missed += Math.max(0, seq - (state.expected - 1));
        state.ended = true;
        ended++;
        return;
      }
      if (seq < state.expected) return bump(errors, 'duplicate or out of order');
      missed += seq - state.expected;
      state.expected = seq + 1;
      delivered++;
      const now = performance.now();
      if (now >= measureFrom && now < measureTo) {
        messages++;
        histogram.recordValue(Math.max(1, Math.round((epochMs() - readTime(data, layout)) * 1000)));
      }
    }, stray);
  });

  // The publisher: shard 0 only, from its own source address slot past the subscribers'.
  let publisher: BenchSocket | undefined;
  if (shard.index === 0) {
    try {
      publisher = await openSocket(targetUrl(options), loopbackAddress(options.sourceBase), options.connectTimeout * 1000, options.protocol);
      watch(publisher);
    } catch (error) {
      bump(errors, `publisher: ${(error as Error).message}`);
    }
  }

  if (publisher !== undefined) {
    const prober = publisher;
    const probe = (): void => prober.send(frameFor(options.protocol, encodeStamped(0, false, epochMs(), options.size)), { binary: false });
    probe();
    const ticker = setInterval(probe, PROBE_EVERY_MS);
    await waitUntil(() => probed === sockets.length, PROBE_WAIT_MS);
    clearInterval(ticker);
    if (probed < sockets.length) bump(errors, 'subscribers not reached by a probe', sockets.length - probed);
  }
  await control.ready();
  const stopProgress = every(500, () => control.progress(delivered));
  const start = performance.now();
  measureFrom = start + options.warmup * 1000;
  measureTo = measureFrom + options.duration * 1000;
  const measured = measuredWindow(control, options.warmup * 1000);
  let published = 0, sentInWindow = 0, acked = 0, publishing = true;
  let ticker: NodeJS.Timeout | undefined;
  const publish = (): void => {
    if (publisher === undefined) return;
    published++;
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) sentInWindow++;
    publisher.send(frameFor(options.protocol, encodeStamped(published, false, epochMs(), options.size)), { binary: false });
  };
  if (publisher !== undefined) {
    onFrames(publisher, options.protocol, (data: Buffer) => {
      if (readEnd(data, layout) || readSeq(data, layout) === 0) return;
      acked++;
      if (publishing && options.rate === 0) publish();
    }, stray);
    if (options.rate > 0) {
      ticker = setInterval(() => {
        const due = Math.floor(((performance.now() - start) * options.rate) / 1000) - published;
        for (let i = 0; i < due; i++) publish();
      }, 1);
    } else {
      for (let i = 0; i < options.inflight; i++) publish();
    }
  }
  await sleep(measureTo - performance.now());
  const cpuMicros = measured.end();
  publishing = false;
  clearInterval(ticker);
  if (publisher !== undefined) {
    await waitUntil(() => acked >= published, END_WAIT_MS);
    publisher.send(frameFor(options.protocol, encodeStamped(published, true, epochMs(), options.size)), { binary: false });
  }
  await waitUntil(() => ended === sockets.length, END_WAIT_MS);
  stopProgress();
  control.progress(delivered);
  let withoutEnd = 0, lastSeqSum = 0;
  for (const state of states) {
    if (state.ended) continue;
    withoutEnd++;
    lastSeqSum += state.expected - 1;
  }
  stopping = true;
  await closeAll(publisher === undefined ? sockets : [...sockets, publisher]);
  return {
    scenario: 'fanout',
    connections: shard.count,
    opened: sockets.length,
    messages,
    sent: sentInWindow,
    windowMs: options.duration * 1000,
    connectMs: opened.elapsedMs,
    missed,
    published: shard.index === 0 ? published : 0,
    withoutEnd,
    lastSeqSumWithoutEnd: lastSeqSum,
    errors,
    closeCodes,
    cpuMicros,
    histogram: encodeHistogram(histogram),
  };
}
