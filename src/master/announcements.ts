/**
 * What each process is told of the others, by the master: a worker learns
 * where each service instance listens (with a secret of its own for each
 * link), the instances of one service where each takes peer connections,
 * and the other nodes (with `cluster`) what this one runs. The master's
 * processes (master-processes.ts) call these as processes come and go.
 */
import type { NodeState } from '../nats/node-registry';
import type { MasterProcesses } from './master-processes';
import type { ServiceSlot } from './service-slot';
import type { WorkerChannel } from './worker-pool';

/** Tells every worker where a service's new instance listens, each with its own secret for it. */
export function announceInstance(processes: MasterProcesses, slot: ServiceSlot, endpoint: string): void {
  const { pool } = processes;
  for (const workerId of pool.workerIds()) {
    const secret = slot.linkSecret(processes.linkIdOf(workerId));
    if (secret !== undefined) pool.channel(workerId)?.deliver({ type: 'serviceUp', service: slot.name, instance: slot.instanceIndex, endpoint, secret }, true);
  }
}

/**
 * A service of several instances: `slot`'s new process and each running
 * sibling learn where the other takes peer connections, each with its own
 * secret; from then on they talk directly.
 */
export function introducePeers(processes: MasterProcesses, slot: ServiceSlot): void {
  if (slot.instances === 1) return;
  const endpoint = slot.peerEndpoint;
  if (endpoint === undefined) return;
  for (const sibling of processes.services.get(slot.name) ?? []) {
    const siblingEndpoint = sibling.peerEndpoint;
    if (sibling === slot || siblingEndpoint === undefined) continue;
    const toSibling = slot.peerSecret(sibling.instanceIndex);
    const toSlot = sibling.peerSecret(slot.instanceIndex);
    if (toSibling !== undefined) sibling.announcePeer({ type: 'peerUp', instance: slot.instanceIndex, endpoint, secret: toSibling });
    if (toSlot !== undefined) slot.announcePeer({ type: 'peerUp', instance: sibling.instanceIndex, endpoint: siblingEndpoint, secret: toSlot });
  }
}

/** Tells a new worker where each running service listens (with its secrets), and which have failed. */
export function announceServices(processes: MasterProcesses, workerId: number, worker: WorkerChannel): void {
  for (const [service, instance, endpoint] of processes.cluster?.remoteInstances() ?? []) worker.deliver({ type: 'serviceUp', service, instance, endpoint, secret: '' }, true);
  for (const slot of processes.slots) {
    const { endpoint } = slot;
    const secret = slot.linkSecret(processes.linkIdOf(workerId));
    const instance = slot.instanceIndex;
    if (endpoint !== undefined && secret !== undefined) worker.deliver({ type: 'serviceUp', service: slot.name, instance, endpoint, secret }, true);
    else if (slot.state === 'failed') worker.deliver({ type: 'serviceFailed', service: slot.name, instance }, true);
  }
}

/** What this node runs, for its heartbeats: the instances up (their pid the epoch) and the workers' link ids. */
export function clusterState(processes: MasterProcesses): NodeState {
  const instances: Array<readonly [string, number, number]> = [];
  for (const slot of processes.slots) {
    const { pid } = slot;
    if (slot.endpoint !== undefined && pid !== undefined) instances.push([slot.name, slot.instanceIndex, pid]);
  }
  return { instances, workers: processes.pool.workerIds().map((workerId) => processes.linkIdOf(workerId)) };
}
