/**
 * echo under `--chaos`: the numbered echo protocol (chaos/numbered.ts). Each
 * connection numbers its messages from 1 per session; every reply is
 * accounted by chaos/damage.ts against the chaos event current when it
 * arrives; a connection the server closes or drops is reopened (backoff from
 * 50 ms to 1 s) and starts a new session. Closed loop (`inflight` per
 * connection, a new message per first reply) or open loop (`rate`). Not the
 * throughput path: each message is encoded afresh and its reply is read (at
 * fixed offsets, no JSON.parse).
 */
import { ConnectError, closeAll, onFrames, openSocket, type BenchSocket } from '../connections';
import { EchoSession, emptyDamage, type DamageCounts } from '../chaos/damage';
import { isMarked, MARKED_LAYOUT } from '../chaos/numbered';
import { every, measuredWindow, sleep, waitUntil, type ShardControl } from '../control';
import { createHistogram, encodeHistogram, type Histogram } from '../histogram';
import type { BenchOptions } from '../options';
import { encodeStamped, epochMs, RAW_LAYOUT, readSeq, readTime } from '../payload';
import type { ChaosShardResult, Counts, ShardResult } from '../result';
import { sourceAddressFor, type Shard } from '../source-address';

/** How long replies may take after the load stops (a restarting service answers what it held). */
export const CHAOS_DRAIN_MS = 10_000;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;

interface Slot {
  readonly address: string;
  socket: BenchSocket | undefined;
  session: EchoSession;
  /** Reconnect attempts since the last open, for the backoff. */
  attempts: number;
}

function bump(counts: Counts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function runChaosEcho(options: BenchOptions, shard: Shard, control: ShardControl): Promise<ShardResult> {
  const errors: Counts = {};
  const closeCodes: Counts = {};
  const reconnectFailures: Counts = {};
  const damage: DamageCounts[] = [];
  const histograms: Histogram[] = [];
  const histogram = createHistogram();
  const openLoop = options.rate > 0;
  const timeoutMs = options.connectTimeout * 1000;
  let stopping = false, sending = false;
  let measureFrom = Number.POSITIVE_INFINITY, measureTo = Number.POSITIVE_INFINITY;
  let messages = 0, sent = 0, received = 0;

  const countsNow = (): DamageCounts => {
    const index = control.chaosEvent();
    for (let i = damage.length; i <= index; i++) damage.push(emptyDamage());
    return damage[index] as DamageCounts;
  };
  const histogramNow = (): Histogram => {
    const index = control.chaosEvent();
    for (let i = histograms.length; i <= index; i++) histograms.push(createHistogram());
    return histograms[index] as Histogram;
  };

  const send = (slot: Slot): void => {
    const socket = slot.socket;
    if (socket === undefined) return;
    const seq = slot.session.nextSeq(countsNow());
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) sent++;
    socket.send(encodeStamped(seq, false, epochMs(), options.size), { binary: false });
  };

  const onReply = (slot: Slot, data: Buffer): void => {
    received++;
    const marked = isMarked(data);
    const layout = marked ? MARKED_LAYOUT : RAW_LAYOUT;
    const first = slot.session.reply(readSeq(data, layout), marked, countsNow());
    if (!first) return;
    const latencyUs = Math.max(1, Math.round((epochMs() - readTime(data, layout)) * 1000));
    histogramNow().recordValue(latencyUs);
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) {
      messages++;
      histogram.recordValue(latencyUs);
    }
    if (sending && !openLoop) send(slot);
  };

  const attach = (slot: Slot, socket: BenchSocket): void => {
    slot.socket = socket;
    slot.session = new EchoSession();
    slot.attempts = 0;
    onFrames(socket, 'ws', (data) => onReply(slot, data), (reason) => bump(errors, reason));
    socket.on('error', (error: NodeJS.ErrnoException) => bump(errors, error.code ?? error.message));
    socket.on('close', (code: number) => {
      if (slot.socket !== socket) return;
      slot.socket = undefined;
      if (stopping) return;
      const counts = countsNow();
      counts.disconnects++;
      bump(closeCodes, String(code));
      slot.session.end('closed', counts);
      void reconnect(slot);
    });
    if (sending && !openLoop) for (let i = 0; i < options.inflight; i++) send(slot);
  };

  const reconnect = async (slot: Slot): Promise<void> => {
    while (!stopping) {
      await sleep(Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** slot.attempts++));
      if (stopping) return;
      try {
        const socket = await openSocket(options.url, slot.address, timeoutMs, 'ws');
        if (stopping) return void socket.terminate();
        countsNow().reconnects++;
        attach(slot, socket);
        return;
      } catch (error) {
        bump(reconnectFailures, error instanceof ConnectError ? error.reason : (error as Error).message);
      }
    }
  };

  const slots: Slot[] = [];
  const connectStarted = performance.now();
  await Promise.all(Array.from({ length: shard.count }, async (_, i) => {
    const slot: Slot = { address: sourceAddressFor(shard.first + i, options.connections, options.perAddress, options.sourceBase), socket: undefined, session: new EchoSession(), attempts: 0 };
    slots.push(slot);
    try {
      attach(slot, await openSocket(options.url, slot.address, timeoutMs, 'ws'));
    } catch (error) {
      bump(errors, error instanceof ConnectError ? error.reason : (error as Error).message);
    }
  }));
  const connectMs = performance.now() - connectStarted;
  const opened = slots.filter((slot) => slot.socket !== undefined).length;

  await control.ready();
  const stopProgress = every(500, () => control.progress(received));
  const start = performance.now();
  measureFrom = start + options.warmup * 1000;
  measureTo = measureFrom + options.duration * 1000;
  sending = true;
  const measured = measuredWindow(control, options.warmup * 1000);
  let ticker: NodeJS.Timeout | undefined;
  if (openLoop) {
    const perMs = (options.rate * (shard.count / options.connections)) / 1000;
    let issued = 0, cursor = 0;
    ticker = setInterval(() => {
      const due = Math.floor((performance.now() - start) * perMs) - issued;
      issued += Math.max(0, due);
      // A slot that is reconnecting skips its turn: what it would have sent is not sent, so nothing is owed.
      for (let i = 0; i < due && slots.length > 0; i++) send(slots[cursor++ % slots.length] as Slot);
    }, 1);
  } else {
    for (const slot of slots) for (let i = 0; i < options.inflight; i++) send(slot);
  }
  await sleep(measureTo - performance.now());
  const cpuMicros = measured.end();
  // The load goes on (unmeasured for the main figures) until the chaos controller is done: a slow recovery must not end with nobody watching.
  await control.chaosDone();
  sending = false;
  clearInterval(ticker);
  await waitUntil(() => slots.every((slot) => slot.socket === undefined || slot.session.outstanding === 0), CHAOS_DRAIN_MS);
  stopping = true;
  stopProgress();
  control.progress(received);
  for (const slot of slots) if (slot.socket !== undefined) slot.session.end('open', countsNow());
  await closeAll(slots.flatMap((slot) => (slot.socket === undefined ? [] : [slot.socket])));
  const chaos: ChaosShardResult = { damage, histograms: histograms.map(encodeHistogram), reconnectFailures };
  return {
    scenario: 'echo',
    connections: shard.count,
    opened,
    messages,
    sent,
    windowMs: options.duration * 1000,
    connectMs,
    missed: 0,
    published: 0,
    withoutEnd: 0,
    lastSeqSumWithoutEnd: 0,
    errors,
    closeCodes,
    cpuMicros,
    histogram: encodeHistogram(histogram),
    chaos,
  };
}
