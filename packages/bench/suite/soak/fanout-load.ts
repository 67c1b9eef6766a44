/**
 * The soak's fan-out traffic: `subscribers` connections on the fan-out
 * service's topic and one publisher sending numbered messages at `rate`.
 * Numbers run on across the publisher's reconnects, so every subscriber sees
 * one increasing stream; each subscriber session accounts what it got:
 * deliveries, gaps (missed), late arrivals (reordered), second deliveries
 * (duplicates, marked by the service when redelivered or not). A gap at a
 * number the publisher had in flight when its own connection was closed is
 * not a loss (it may never have reached the server): those are counted as cut.
 */
import { ConnectError, closeAll, onFrames, openSocket, type BenchSocket } from '../../src/connections';
import { sleep } from '../../src/control';
import { isMarked, MARKED_LAYOUT } from '../../src/chaos/numbered';
import { createHistogram, type Histogram } from '../../src/histogram';
import { encodeStamped, epochMs, RAW_LAYOUT, readSeq, readTime } from '../../src/payload';
import { loopbackAddress } from '../../src/source-address';
import { PerEvent, type Phase } from './phase';

export interface FanoutCounts {
  published: number;
  delivered: number;
  missed: number;
  cut: number;
  reordered: number;
  duplicatesMarked: number;
  duplicatesUnmarked: number;
  disconnects: number;
  reconnects: number;
  connectFailures: number;
}

function emptyFanout(): FanoutCounts {
  return { published: 0, delivered: 0, missed: 0, cut: 0, reordered: 0, duplicatesMarked: 0, duplicatesUnmarked: 0, disconnects: 0, reconnects: 0, connectFailures: 0 };
}

/** Most numbers one subscriber remembers as missing (for late arrivals); past it a gap is only counted. */
const MAX_MISSING = 10_000;
/** Most gaps kept for classification at the end. */
const MAX_GAPS = 1_000_000;

interface Subscriber {
  socket: BenchSocket | undefined;
  last: number;
  readonly missing: Set<number>;
}

export interface FanoutLoadOptions {
  readonly url: string;
  readonly subscribers: number;
  /** Publisher messages per second. */
  readonly rate: number;
  readonly size: number;
  /** First source-address index. */
  readonly sourceBase: number;
}

export class FanoutLoad {
  readonly counts: PerEvent<FanoutCounts>;
  readonly histogram: Histogram = createHistogram();
  private readonly subs: Subscriber[] = [];
  private publisher: BenchSocket | undefined;
  private readonly inFlight = new Set<number>();
  /** Numbers in flight when the publisher's connection closed: maybe never published. */
  private readonly cutNumbers = new Set<number>();
  /** Gaps seen by subscribers, by number: classified as missed or cut at the end. */
  private readonly gaps: Array<{ seq: number; event: number }> = [];
  private seq = 0;
  private stopping = false;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: FanoutLoadOptions, private readonly phase: Phase) {
    this.counts = new PerEvent(phase, emptyFanout);
  }

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.subscribers }, async (_, i) => {
      const sub: Subscriber = { socket: undefined, last: 0, missing: new Set() };
      this.subs.push(sub);
      await this.connectSubscriber(sub, i);
    }));
    await this.connectPublisher();
    const started = performance.now();
    let issued = 0;
    this.ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * this.options.rate) / 1000) - issued;
      issued += Math.max(0, due);
      for (let i = 0; i < due; i++) this.publish();
    }, 10);
  }

  private address(i: number): string {
    return loopbackAddress(this.options.sourceBase + (i % 50));
  }

  private async connectSubscriber(sub: Subscriber, i: number, attempt = 0): Promise<void> {
    while (!this.stopping) {
      try {
        const socket = await openSocket(this.options.url, this.address(i), 10_000, 'ws');
        if (this.stopping) return void socket.terminate();
        if (attempt > 0) this.counts.now().reconnects++;
        this.attachSubscriber(sub, i, socket);
        return;
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        this.counts.now().connectFailures++;
        await sleep(Math.min(1000, 50 * 2 ** attempt++));
      }
    }
  }

  private attachSubscriber(sub: Subscriber, i: number, socket: BenchSocket): void {
    sub.socket = socket;
    sub.last = 0;
    sub.missing.clear();
    onFrames(socket, 'ws', (data) => this.deliver(sub, data), () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (sub.socket !== socket) return;
      sub.socket = undefined;
      if (this.stopping) return;
      this.counts.now().disconnects++;
      void this.connectSubscriber(sub, i, 1);
    });
  }

  private deliver(sub: Subscriber, data: Buffer): void {
    const marked = isMarked(data);
    const layout = marked ? MARKED_LAYOUT : RAW_LAYOUT;
    const seq = readSeq(data, layout);
    if (!Number.isSafeInteger(seq)) return;
    const counts = this.counts.now();
    if (seq > sub.last) {
      // The first delivery of a session sets where it starts: what was published before it subscribed is not owed.
      if (sub.last > 0) {
        for (let missing = sub.last + 1; missing < seq; missing++) {
          if (this.gaps.length < MAX_GAPS) this.gaps.push({ seq: missing, event: this.phase.index });
          else counts.missed++; // past the bound a gap cannot be classified: counted as missed
          if (sub.missing.size < MAX_MISSING) sub.missing.add(missing);
        }
      }
      sub.last = seq;
    } else if (sub.missing.delete(seq)) {
      counts.reordered++;
      const gap = this.gaps.findIndex((entry) => entry.seq === seq);
      if (gap >= 0) this.gaps.splice(gap, 1);
    } else {
      if (marked) counts.duplicatesMarked++;
      else counts.duplicatesUnmarked++;
      return;
    }
    counts.delivered++;
    this.histogram.recordValue(Math.max(1, Math.round((epochMs() - readTime(data, layout)) * 1000)));
  }

  private async connectPublisher(attempt = 0): Promise<void> {
    while (!this.stopping) {
      try {
        const socket = await openSocket(this.options.url, this.address(this.options.subscribers), 10_000, 'ws');
        if (this.stopping) return void socket.terminate();
        if (attempt > 0) this.counts.now().reconnects++;
        this.publisher = socket;
        onFrames(socket, 'ws', (data) => {
          const seq = readSeq(data, isMarked(data) ? MARKED_LAYOUT : RAW_LAYOUT);
          this.inFlight.delete(seq);
        }, () => undefined);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          if (this.publisher !== socket) return;
          this.publisher = undefined;
          for (const seq of this.inFlight) this.cutNumbers.add(seq);
          this.inFlight.clear();
          if (this.stopping) return;
          this.counts.now().disconnects++;
          void this.connectPublisher(1);
        });
        return;
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        this.counts.now().connectFailures++;
        await sleep(Math.min(1000, 50 * 2 ** attempt++));
      }
    }
  }

  private publish(): void {
    const socket = this.publisher;
    // While the publisher reconnects, its turns are skipped: nothing is owed for them.
    if (socket === undefined) return;
    const seq = ++this.seq;
    this.inFlight.add(seq);
    this.counts.now().published++;
    socket.send(encodeStamped(seq, false, epochMs(), this.options.size), { binary: false });
  }

  /** Stops publishing, lets deliveries drain (at most `drainMs`), classifies the gaps and closes everything. */
  /**
   * The missed numbers (not cut), each with how many subscriber sessions
   * missed it and the event under way, most missed first; at most `limit`.
   */
  missedDetail(limit = 20): Array<{ readonly seq: number; readonly subscribers: number; readonly event: number }> {
    const bySeq = new Map<number, { seq: number; subscribers: number; event: number }>();
    for (const gap of this.gaps) {
      if (this.cutNumbers.has(gap.seq)) continue;
      const entry = bySeq.get(gap.seq) ?? { seq: gap.seq, subscribers: 0, event: gap.event };
      entry.subscribers++;
      bySeq.set(gap.seq, entry);
    }
    return [...bySeq.values()].sort((a, b) => b.subscribers - a.subscribers || a.seq - b.seq).slice(0, limit);
  }

  async stop(drainMs: number): Promise<void> {
    clearInterval(this.ticker);
    const deadline = performance.now() + drainMs;
    while (this.inFlight.size > 0 && performance.now() < deadline) await sleep(20);
    // Deliveries of the last messages to other subscribers may trail the publisher's own copy a little.
    await sleep(200);
    this.stopping = true;
    for (const gap of this.gaps) {
      const counts = this.counts.at(gap.event);
      if (this.cutNumbers.has(gap.seq)) counts.cut++;
      else counts.missed++;
    }
    const sockets = this.subs.flatMap((sub) => (sub.socket === undefined ? [] : [sub.socket]));
    if (this.publisher !== undefined) sockets.push(this.publisher);
    await closeAll(sockets);
  }
}
