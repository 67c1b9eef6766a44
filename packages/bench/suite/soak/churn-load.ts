/**
 * The soak's connection churn: at `rate` per second a connection opens to the
 * echo service, sends one numbered message, waits for its reply and closes
 * (at most `MAX_OPEN` at once). Each one ends as answered, refused (the
 * connect failed, by reason), cut (the server closed it before the reply) or
 * lost (open, no reply within `REPLY_TIMEOUT_MS`).
 */
import { ConnectError, onFrames, openSocket, type BenchSocket } from '../../src/connections';
import { isMarked, MARKED_LAYOUT } from '../../src/chaos/numbered';
import { createHistogram, type Histogram } from '../../src/histogram';
import { encodeStamped, epochMs, RAW_LAYOUT, readSeq } from '../../src/payload';
import { loopbackAddress } from '../../src/source-address';
import { PerEvent, type Phase } from './phase';

export interface ChurnCounts {
  attempted: number;
  answered: number;
  refused: number;
  cut: number;
  lost: number;
  /** Connects skipped because `MAX_OPEN` were still open (the server is slow to answer). */
  skipped: number;
}

function emptyChurn(): ChurnCounts {
  return { attempted: 0, answered: 0, refused: 0, cut: 0, lost: 0, skipped: 0 };
}

const MAX_OPEN = 100;
const REPLY_TIMEOUT_MS = 15_000;

export class ChurnLoad {
  readonly counts: PerEvent<ChurnCounts>;
  /** Connect + one round trip, µs. */
  readonly histogram: Histogram = createHistogram();
  readonly refusals: Record<string, number> = {};
  private readonly open = new Set<BenchSocket>();
  private pending = 0;
  private ticker: NodeJS.Timeout | undefined;
  private index = 0;

  constructor(private readonly url: string, private readonly rate: number, private readonly sourceBase: number, phase: Phase) {
    this.counts = new PerEvent(phase, emptyChurn);
  }

  start(): void {
    const started = performance.now();
    let issued = 0;
    this.ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * this.rate) / 1000) - issued;
      issued += Math.max(0, due);
      for (let i = 0; i < due; i++) this.once();
    }, 10);
  }

  private once(): void {
    const counts = this.counts.now();
    if (this.pending >= MAX_OPEN) return void counts.skipped++;
    counts.attempted++;
    this.pending++;
    const begun = performance.now();
    const address = loopbackAddress(this.sourceBase + (this.index++ % 50));
    openSocket(this.url, address, 10_000, 'ws').then((socket) => {
      this.open.add(socket);
      let settled = false;
      const settle = (outcome: 'answered' | 'cut' | 'lost'): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counts.now()[outcome]++;
        this.pending--;
        if (outcome === 'answered') this.histogram.recordValue(Math.max(1, Math.round((performance.now() - begun) * 1000)));
        if (outcome !== 'cut') socket.close(1000);
      };
      const timer = setTimeout(() => settle('lost'), REPLY_TIMEOUT_MS);
      onFrames(socket, 'ws', (data) => {
        if (readSeq(data, isMarked(data) ? MARKED_LAYOUT : RAW_LAYOUT) === 1) settle('answered');
      }, () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.open.delete(socket);
        settle('cut');
      });
      socket.send(encodeStamped(1, false, epochMs(), 64), { binary: false });
    }, (error: unknown) => {
      const reason = error instanceof ConnectError ? error.reason : (error as Error).message;
      this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
      this.counts.now().refused++;
      this.pending--;
    });
  }

  /** Stops opening; waits (at most `drainMs`) for the open ones to settle, then cuts the rest. */
  async stop(drainMs: number): Promise<void> {
    clearInterval(this.ticker);
    const deadline = performance.now() + drainMs;
    while (this.pending > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of this.open) socket.terminate();
  }
}
