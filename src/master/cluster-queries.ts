/**
 * Answers what a worker asks about the whole cluster: health, and metrics
 * gathered from every process. Gathering pairs requests and replies by a
 * sequence number and never waits longer than `GATHER_TIMEOUT_MS`: a process
 * that does not answer in time is left out of that scrape.
 */
import { renderCluster } from '../metrics/process-metrics';
import type { ClusterQuery, MasterToWorker, MetricsSnapshot } from '../protocol';
import type { Logger } from '../logger';

export const GATHER_TIMEOUT_MS = 2000;

export interface MetricsSource {
  deliver(message: { readonly type: 'metricsRequest'; readonly qid: number }, mustKeep?: boolean): boolean;
}

export interface HealthReport {
  readonly healthy: boolean;
  readonly body: unknown;
}

export interface ClusterQueryDeps {
  health(): HealthReport;
  ownMetrics(): Promise<MetricsSnapshot>;
  metricsSources(): Iterable<MetricsSource>;
  replyTo(workerId: number, message: Extract<MasterToWorker, { type: 'queryResult' }>): void;
}

interface Gathering {
  remaining: number;
  readonly snapshots: MetricsSnapshot[];
  readonly timer: NodeJS.Timeout;
  readonly finish: () => void;
}

export class ClusterQueries {
  private nextQid = 1;
  private readonly gatherings = new Map<number, Gathering>();

  constructor(
    private readonly deps: ClusterQueryDeps,
    private readonly log: Logger,
  ) {}

  onQuery(workerId: number, qid: number, what: ClusterQuery): void {
    switch (what) {
      case 'health': {
        const report = this.deps.health();
        this.deps.replyTo(workerId, {
          type: 'queryResult',
          qid,
          status: report.healthy ? 200 : 503,
          contentType: 'application/json; charset=utf-8',
          body: `${JSON.stringify(report.body)}\n`,
        });
        return;
      }
      case 'metrics':
        void this.gather().then(
          async (snapshots) => {
            const { contentType, body } = await renderCluster(snapshots);
            this.deps.replyTo(workerId, { type: 'queryResult', qid, status: 200, contentType, body });
          },
          (error: unknown) => {
            this.log.error({ err: error }, 'metrics could not be gathered');
            this.deps.replyTo(workerId, { type: 'queryResult', qid, status: 500, contentType: 'text/plain; charset=utf-8', body: 'metrics could not be gathered\n' });
          },
        );
        return;
      default: {
        const unreachable: never = what;
        throw new Error(`unhandled query ${String(unreachable)}`);
      }
    }
  }

  /** A process answered a metrics request. */
  onMetrics(qid: number, metrics: MetricsSnapshot): void {
    const gathering = this.gatherings.get(qid);
    if (gathering === undefined) return;
    gathering.snapshots.push(metrics);
    gathering.remaining--;
    if (gathering.remaining === 0) gathering.finish();
  }

  /** Fails every gathering in progress (on close). */
  close(): void {
    for (const gathering of this.gatherings.values()) gathering.finish();
  }

  private async gather(): Promise<MetricsSnapshot[]> {
    const own = await this.deps.ownMetrics();
    return new Promise((resolve) => {
      const qid = this.nextQid++;
      let asked = 0;
      for (const source of this.deps.metricsSources()) if (source.deliver({ type: 'metricsRequest', qid }, true)) asked++;
      const snapshots: MetricsSnapshot[] = [own];
      const finish = (): void => {
        const gathering = this.gatherings.get(qid);
        if (gathering === undefined) return;
        clearTimeout(gathering.timer);
        this.gatherings.delete(qid);
        if (gathering.remaining > 0) this.log.warn({ missing: gathering.remaining }, 'some processes did not report metrics in time');
        resolve(snapshots);
      };
      const timer = setTimeout(finish, GATHER_TIMEOUT_MS);
      this.gatherings.set(qid, { remaining: asked, snapshots, timer, finish });
      if (asked === 0) finish();
    });
  }
}
