/**
 * Answers what a worker asks about the whole cluster: health, readiness, and metrics
 * gathered from every process.
 *
 * Scrapes are coalesced: a metrics query that arrives while a gather runs
 * waits for that gather and gets its result, so however many scrapes arrive
 * at once (the metrics path is on the public port), at most one gather is in
 * flight and each process serializes its registry once for all of them. At
 * most `MAX_WAITING_SCRAPES` queries wait; past that they are answered 503.
 *
 * A result is kept for `metricsCacheMs` after its gather ended: scrapes
 * within that window are answered from it at once, so a flood of scrapes
 * costs at most one gather (one registry serialization per process, one
 * render) per window, whatever its rate.
 *
 * Each process is asked with a request of its own (paired by sequence number
 * in `PendingReplies`) that waits at most `GATHER_TIMEOUT_MS`. A process that
 * does not answer in time is rendered from its latest snapshot, and one that
 * exited from the retired totals (see `ClusterTotals`): counters never dip.
 * A process that missed a gather's deadline (stopped, stuck) is *late*: the
 * next gathers do not wait for it and use its latest snapshot at once, so it
 * costs one slow scrape, not one per scrape. A late process is still asked,
 * one request at a time and never past its IPC queue's bound; once it answers,
 * it is waited for again.
 */
import { ClusterTotals } from '../metrics/cluster-totals';
import { renderCluster } from '../metrics/process-metrics';
import { PendingReplies } from '../pending-replies';
import type { ClusterQuery, MasterToWorker, MetricsSnapshot } from '../protocol';
import type { Logger } from '../logger';
import { ThrottledWarning } from '../throttled-log';

export const GATHER_TIMEOUT_MS = 2000;

/** Most metrics queries waiting for one gather; a scraper needs one, a handful of Prometheus replicas a few. */
export const MAX_WAITING_SCRAPES = 64;

type QueryResult = Extract<MasterToWorker, { type: 'queryResult' }>;

/** What a query is answered, without its addressing: a worker's gets it in a `queryResult`, the ops port (ops-server.ts) as its HTTP answer. */
export type ScrapeResult = Omit<QueryResult, 'qid' | 'type'>;

/** Where one query's answer goes. */
export type QueryReply = (result: ScrapeResult) => void;

export interface MetricsSource {
  /** Names the process instance that answers; unique for the master's life (see `ClusterTotals.retire`). */
  readonly instance: string;
  deliver(message: { readonly type: 'metricsRequest'; readonly qid: number }, mustKeep?: boolean): boolean;
}

/** One health body for both endpoints; each answers 200 or 503 by its own flag. */
export interface HealthReport {
  /** Every process is up (`/healthz`). */
  readonly healthy: boolean;
  /** Every process is up and every service live (`/readyz`). */
  readonly ready: boolean;
  readonly body: unknown;
}

export interface ClusterQueryDeps {
  health(): HealthReport;
  ownMetrics(): Promise<MetricsSnapshot>;
  metricsSources(): Iterable<MetricsSource>;
  replyTo(workerId: number, message: QueryResult): void;
}


export class ClusterQueries {
  private readonly replies = new PendingReplies<MetricsSnapshot>();
  private readonly totals = new ClusterTotals();
  /** Queries waiting for the gather in flight; a gather runs exactly while this is not empty. */
  private waiting: QueryReply[] = [];
  /** The last gather's rendered result and when it ended (`performance.now()`), while it is fresh. */
  private cached: { readonly result: ScrapeResult; readonly at: number } | undefined;
  /** Instances that missed a gather's deadline and have not answered since: not waited for. */
  private readonly late = new Set<string>();
  /** Late instances with a request out: at most one each. */
  private readonly lateAsked = new Set<string>();
  private gathers = 0;
  /** Anyone who can reach the metrics path can make a gather run (one at a time): warn about late processes at most once per interval. */
  private readonly lateWarning: ThrottledWarning;

  constructor(
    private readonly deps: ClusterQueryDeps,
    private readonly log: Logger,
    /** How long a gathered result answers later scrapes (`metricsCacheMs`); 0 gathers for each. */
    private readonly cacheMs: number,
  ) {
    this.lateWarning = new ThrottledWarning(log, 'some processes did not report metrics in time; their latest snapshots are used');
  }

  /** Gathers started since creation (each asks every process once). */
  get gatherCount(): number {
    return this.gathers;
  }

  /** A worker's query: answered to that worker, paired by `qid`. */
  onQuery(workerId: number, qid: number, what: ClusterQuery): void {
    this.answer(what, (result) => this.deps.replyTo(workerId, { type: 'queryResult', qid, ...result }));
  }

  /** Answers one query, through `reply` (once): at once for health and readiness, after a gather (or from the cache) for metrics. */
  answer(what: ClusterQuery, reply: QueryReply): void {
    switch (what) {
      case 'health':
      case 'ready': {
        const report = this.deps.health();
        const ok = what === 'health' ? report.healthy : report.ready;
        reply({ status: ok ? 200 : 503, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(report.body)}\n` });
        return;
      }
      case 'metrics': {
        const cached = this.cached;
        if (cached !== undefined && performance.now() - cached.at < this.cacheMs) {
          reply(cached.result);
          return;
        }
        this.cached = undefined;
        if (this.waiting.length >= MAX_WAITING_SCRAPES) {
          reply({ status: 503, contentType: 'text/plain; charset=utf-8', body: 'too many metrics scrapes at once\n' });
          return;
        }
        this.waiting.push(reply);
        if (this.waiting.length === 1) void this.scrape();
        return;
      }
      default: {
        const unreachable: never = what;
        throw new Error(`unhandled query ${String(unreachable)}`);
      }
    }
  }

  /** A process answered a metrics request. */
  onMetrics(qid: number, metrics: MetricsSnapshot): void {
    this.replies.settle(qid, metrics);
  }

  /** A process instance exited: its counters join the retired totals. */
  retire(instance: string): void {
    this.totals.retire(instance);
    this.late.delete(instance);
    this.lateAsked.delete(instance);
  }

  /** Ends every gather in progress with what it has (on close). */
  close(): void {
    this.replies.cancelAll('closing');
  }

  /** Gathers, renders once, and answers every query that waited meanwhile. */
  private async scrape(): Promise<void> {
    let result: ScrapeResult;
    try {
      const { contentType, body } = await renderCluster(await this.gather());
      result = { status: 200, contentType, body };
      if (this.cacheMs > 0) this.cached = { result, at: performance.now() };
    } catch (error) {
      this.log.error({ err: error }, 'metrics could not be gathered');
      result = { status: 500, contentType: 'text/plain; charset=utf-8', body: 'metrics could not be gathered\n' };
    }
    const answered = this.waiting;
    this.waiting = [];
    for (const reply of answered) reply(result);
  }

  /** The master's own snapshot, then each process's fresh one, or its latest when it is late, then the retired totals. */
  private async gather(): Promise<MetricsSnapshot[]> {
    this.gathers++;
    const own = await this.deps.ownMetrics();
    await new Promise<void>((resolve) => {
      let outstanding = 0;
      let missing = 0;
      const done = (): void => {
        if (--outstanding > 0) return;
        if (missing > 0) this.lateWarning.warn({ missing });
        resolve();
      };
      for (const source of this.deps.metricsSources()) {
        const { instance } = source;
        if (this.late.has(instance)) {
          this.askLate(source);
          continue;
        }
        const qid = this.replies.add(GATHER_TIMEOUT_MS, {
          onReply: (snapshot) => {
            this.totals.record(instance, snapshot);
            done();
          },
          onTimeout: () => {
            missing++;
            this.late.add(instance);
            done();
          },
          onCancel: done,
        });
        if (source.deliver({ type: 'metricsRequest', qid }, true)) outstanding++;
        else this.replies.forget(qid);
      }
      if (outstanding === 0) resolve();
    });
    return [own, ...this.totals.snapshots()];
  }

  /**
   * Asks a late process for a snapshot without waiting for it: its answer is
   * kept for the next scrape and makes it waited for again. One request at a
   * time, and not forced past its IPC queue's bound (a stopped process reads
   * nothing, so what is sent to it stays queued).
   */
  private askLate(source: MetricsSource): void {
    const { instance } = source;
    if (this.lateAsked.has(instance)) return;
    const qid = this.replies.add(GATHER_TIMEOUT_MS, {
      onReply: (snapshot) => {
        this.lateAsked.delete(instance);
        this.late.delete(instance);
        this.totals.record(instance, snapshot);
      },
      onTimeout: () => this.lateAsked.delete(instance),
      onCancel: () => this.lateAsked.delete(instance),
    });
    if (source.deliver({ type: 'metricsRequest', qid }, false)) this.lateAsked.add(instance);
    else this.replies.forget(qid);
  }
}
