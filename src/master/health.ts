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
import { instanceKey } from '../shard-key';
import type { ServerStats } from './stats';
import type { PeerInfo } from '../nats/node-registry';

export interface HealthInputs {
  readonly stats: ServerStats;
  readonly expectedWorkers: number;
  readonly uptimeMs: number;
  /** Each service instance's liveness (not live unless online), keyed as `instanceKey` names it. */
  readonly liveness: ReadonlyMap<string, Liveness>;
  /** Each service instance's links, per ready worker, as last reported (same keys). */
  readonly links: ReadonlyMap<string, readonly WorkerLinkView[]>;
  /**
   * With `cluster`: the other nodes as this one sees them. Shown, not judged:
   * a peer's death does not make this node unhealthy (a load balancer would
   * otherwise drop every node at once when one dies).
   */
  readonly nodes?: readonly PeerInfo[];
}

/** Services whose link from worker `id` is reported not up. */
function linksDownAt(id: number, links: ReadonlyMap<string, readonly WorkerLinkView[]>): string[] {
  const down: string[] = [];
  for (const [service, views] of links) if (views.some((view) => view.worker === id && view.link !== undefined && !view.link.up)) down.push(service);
  return down;
}

/** The `instanceKey` of each entry of `stats.services`, in order. */
function keysOf(services: ServerStats['services']): string[] {
  const counts = new Map<string, number>();
  for (const service of services) counts.set(service.name, (counts.get(service.name) ?? 0) + 1);
  return services.map((service) => instanceKey(service.name, service.instance, counts.get(service.name) ?? 1));
}

export function healthReport({ stats, expectedWorkers, uptimeMs, liveness, links, nodes }: HealthInputs): HealthReport {
  const workersUp = stats.workers.filter((worker) => worker.ready).length;
  const keys = keysOf(stats.services);
  const healthy = stats.state === 'listening' && workersUp === expectedWorkers && stats.services.every((service) => service.state === 'online');
  const ready = healthy && keys.every((key) => liveness.get(key)?.live === true);
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
        ...stats.services.map((service, i) => {
          const verdict = liveness.get(keys[i] as string);
          return {
            kind: 'service',
            name: service.name,
            instance: service.instance,
            pid: service.pid,
            state: service.state,
            uptimeMs: service.uptimeMs,
            restarts: service.restarts,
            live: verdict?.live === true,
            ...(verdict !== undefined && !verdict.live ? { reason: verdict.reason } : {}),
          };
        }),
      ],
      ...(nodes === undefined
        ? {}
        : { nodes: nodes.map((peer) => ({ node: peer.node, state: peer.state, lastHeartbeat: peer.lastHeartbeat === undefined ? null : new Date(peer.lastHeartbeat).toISOString() })) }),
    },
  };
}
