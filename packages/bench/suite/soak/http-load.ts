/**
 * The soak's HTTP traffic: `POST /services/echo` at `rate` per second over a
 * few keep-alive connections; each answer must be 200 with the body sent.
 * Counted by outcome and status, per chaos event.
 */
import * as http from 'node:http';
import { createHistogram, type Histogram } from '../../src/histogram';
import { PerEvent, type Phase } from './phase';

export interface HttpCounts {
  sent: number;
  ok: number;
  /** Answers other than 200 with the body sent, by status (`wrong body` for a 200 with another body). */
  statuses: Record<string, number>;
  /** No answer: a network error or no answer within the timeout. */
  failed: number;
}

function emptyHttp(): HttpCounts {
  return { sent: 0, ok: 0, statuses: {}, failed: 0 };
}

/** Requests in flight at most; past it a turn is skipped. */
const MAX_IN_FLIGHT = 64;
const TIMEOUT_MS = 15_000;

export class HttpLoad {
  readonly counts: PerEvent<HttpCounts>;
  readonly histogram: Histogram = createHistogram();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly target: URL;
  private ticker: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private seq = 0;

  constructor(url: string, private readonly rate: number, phase: Phase) {
    this.target = new URL(url);
    this.counts = new PerEvent(phase, emptyHttp);
  }

  start(): void {
    const started = performance.now();
    let issued = 0;
    this.ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * this.rate) / 1000) - issued;
      issued += Math.max(0, due);
      for (let i = 0; i < due; i++) if (this.inFlight < MAX_IN_FLIGHT) this.request();
    }, 10);
  }

  private request(): void {
    const body = `soak ${++this.seq}`;
    const begun = performance.now();
    this.inFlight++;
    this.counts.now().sent++;
    // A response that ends, then an error on its socket: settled once.
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.inFlight--;
      return true;
    };
    const request = http.request(this.target, { method: 'POST', agent: this.agent, timeout: TIMEOUT_MS, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (!settle()) return;
        const counts = this.counts.now();
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200 && text === body) {
          counts.ok++;
          this.histogram.recordValue(Math.max(1, Math.round((performance.now() - begun) * 1000)));
        } else {
          const key = response.statusCode === 200 ? 'wrong body' : String(response.statusCode);
          counts.statuses[key] = (counts.statuses[key] ?? 0) + 1;
        }
      });
      response.on('error', () => undefined);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => {
      if (!settle()) return;
      this.counts.now().failed++;
    });
    request.end(body);
  }

  async stop(drainMs: number): Promise<void> {
    clearInterval(this.ticker);
    const deadline = performance.now() + drainMs;
    while (this.inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    this.agent.destroy();
  }
}
