/**
 * The master's own metrics, read from its stats when scraped: restarts,
 * process health, IPC queues towards each child, and what the workers report
 * about their links (held messages, drops).
 */
import { registerRegistryMetrics } from '../nats/nats-metrics';
import type { PeerInfo, RegistryStats } from '../nats/node-registry';
import type { Counter, Gauge } from 'prom-client';
import { ProcessMetrics } from '../metrics/process-metrics';
import type { MetricsSnapshot } from '../protocol';
import type { ServerStats, ServiceStats } from './stats';

/** A service's labels: `instance` only when it runs several (`several` names those), so a service of one keeps its series. */
function serviceLabels(service: Pick<ServiceStats, 'name' | 'instance'>, several: ReadonlySet<string>, name: 'name' | 'service'): Record<string, string> {
  return several.has(service.name) ? { [name]: service.name, instance: String(service.instance) } : { [name]: service.name };
}

/** The names of the services that run several instances, on this node or across nodes (`cluster`). */
function multiInstance({ services, remoteServices }: Pick<ServerStats, 'services' | 'remoteServices'>): Set<string> {
  const several = new Set<string>();
  for (const service of [...services, ...remoteServices]) if (service.instance > 0) several.add(service.name);
  return several;
}

/** The IPC peer name of a service instance: `service-<name>`, with `#<index>` for a service of several. */
function peerOf(service: ServiceStats, several: ReadonlySet<string>): string {
  return several.has(service.name) ? `service-${service.name}#${service.instance}` : `service-${service.name}`;
}

export class MasterMetrics {
  private readonly process = new ProcessMetrics('master');

  constructor(stats: () => ServerStats) {
    this.process.counter('restarts', function collect(this: Counter) {
      const current = stats();
      this.reset();
      this.inc({ kind: 'worker', name: 'workers' }, current.workerRestarts);
      const several = multiInstance(current);
      for (const service of current.services) this.inc({ kind: 'service', ...serviceLabels(service, several, 'name') }, service.restarts);
    });
    this.process.gauge('up', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.set({ kind: 'worker', name: String(worker.id) }, worker.ready ? 1 : 0);
      const several = multiInstance(current);
      for (const service of current.services) this.set({ kind: 'service', ...serviceLabels(service, several, 'name') }, service.state === 'online' ? 1 : 0);
    });
    this.process.gauge('ipcQueueDepth', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.set({ process: 'master', peer: `worker-${worker.id}` }, worker.ipcQueueDepth);
      const several = multiInstance(current);
      for (const service of current.services) this.set({ process: 'master', peer: peerOf(service, several) }, service.ipcQueueDepth);
    });
    this.process.gauge('heldMessages', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      const several = multiInstance(current);
      for (const service of current.services) this.set(serviceLabels(service, several, 'service'), service.heldMessages);
      // What this node's workers hold for instances on other nodes: invisible otherwise, as no process here reports them.
      for (const service of current.remoteServices) this.set(serviceLabels(service, several, 'service'), service.heldMessages);
    });
    this.process.counter('ipcDropped', function collect(this: Counter) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.inc({ process: 'master', peer: `worker-${worker.id}` }, worker.ipcDropped);
      const several = multiInstance(current);
      for (const service of current.services) this.inc({ process: 'master', peer: peerOf(service, several) }, service.ipcDropped);
    });
    this.process.counter('routingDropped', function collect(this: Counter) {
      const { routing } = stats();
      this.reset();
      this.inc({ reason: 'foreign_client' }, routing.foreignAddressDrops);
      this.inc({ reason: 'gone_client' }, routing.goneClientDrops);
      this.inc({ reason: 'service_queue_full' }, routing.serviceQueueFull);
      this.inc({ reason: 'link_queue_full' }, routing.linkQueueFull);
      this.inc({ reason: 'service_unavailable' }, routing.requestsRefused);
    });
  }

  /** With `cluster`: the registry's counters and the other nodes' states (nats-metrics.ts). */
  trackNats(stats: () => RegistryStats | undefined, peers: () => readonly PeerInfo[]): void {
    registerRegistryMetrics(this.process, stats, peers);
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.process.snapshot();
  }

  close(): void {
    this.process.close();
  }
}
