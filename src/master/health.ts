/**
 * The body of `/healthz` and `/readyz`, and the two verdicts (see
 * docs/metrics.md): *healthy* (`/healthz` 200) while the server listens,
 * every worker is ready and every service process online — the processes are
 * up; *ready* (`/readyz` 200) while it is healthy and every service is live
 * as well (liveness.ts: answers pings, acknowledges what waits, every link
 * up). One body serves both, so either endpoint tells why.
 */
import type { HealthReport } from './cluster-queries';
import type { Liveness, WorkerLinkView } from './liveness';
import type { ServerStats } from './stats';

export interface HealthInputs {
  readonly stats: ServerStats;
  readonly expectedWorkers: number;
  readonly uptimeMs: number;
  /** Each service's liveness (not live unless online). */
  readonly liveness: ReadonlyMap<string, Liveness>;
  /** Each service's links, per ready worker, as last reported. */
  readonly links: ReadonlyMap<string, readonly WorkerLinkView[]>;
}

/** Services whose link from worker `id` is reported not up. */
function linksDownAt(id: number, links: ReadonlyMap<string, readonly WorkerLinkView[]>): string[] {
  const down: string[] = [];
  for (const [service, views] of links) if (views.some((view) => view.worker === id && view.link !== undefined && !view.link.up)) down.push(service);
  return down;
}

export function healthReport({ stats, expectedWorkers, uptimeMs, liveness, links }: HealthInputs): HealthReport {
  const workersUp = stats.workers.filter((worker) => worker.ready).length;
  const healthy = stats.state === 'listening' && workersUp === expectedWorkers && stats.services.every((service) => service.state === 'online');
  const ready = healthy && stats.services.every((service) => liveness.get(service.name)?.live === true);
  return {
    healthy,
    ready,
    body: {
      status: ready ? 'ok' : 'degraded',
      state: stats.state,
      uptimeMs,
      workers: { expected: expectedWorkers, up: workersUp, restarts: stats.workerRestarts },
      processes: [
        { kind: 'master', pid: process.pid, state: stats.state, uptimeMs, restarts: 0 },
        ...stats.workers.map((worker) => ({
          kind: 'worker',
          id: worker.id,
          pid: worker.pid,
          state: worker.ready ? 'online' : 'starting',
          uptimeMs: worker.uptimeMs,
          clients: worker.clients,
          linksDown: linksDownAt(worker.id, links),
        })),
        ...stats.services.map((service) => {
          const verdict = liveness.get(service.name);
          return {
            kind: 'service',
            name: service.name,
            pid: service.pid,
            state: service.state,
            uptimeMs: service.uptimeMs,
            restarts: service.restarts,
            live: verdict?.live === true,
            ...(verdict !== undefined && !verdict.live ? { reason: verdict.reason } : {}),
          };
        }),
      ],
    },
  };
}
