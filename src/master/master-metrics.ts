/**
 * The master's own metrics, read from its stats when scraped: restarts,
 * process health, IPC queues towards each child, and what the workers report
 * about their links (held messages, drops).
 */
import type { Counter, Gauge } from 'prom-client';
import { ProcessMetrics } from '../metrics/process-metrics';
import type { MetricsSnapshot } from '../protocol';
import type { ServerStats } from './stats';

export class MasterMetrics {
  private readonly process = new ProcessMetrics('master');

  constructor(stats: () => ServerStats) {
    this.process.counter('restarts', function collect(this: Counter) {
      const current = stats();
      this.reset();
      this.inc({ kind: 'worker', name: 'workers' }, current.workerRestarts);
      for (const service of current.services) this.inc({ kind: 'service', name: service.name }, service.restarts);
    });
    this.process.gauge('up', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.set({ kind: 'worker', name: String(worker.id) }, worker.ready ? 1 : 0);
      for (const service of current.services) this.set({ kind: 'service', name: service.name }, service.state === 'online' ? 1 : 0);
    });
    this.process.gauge('ipcQueueDepth', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.set({ process: 'master', peer: `worker-${worker.id}` }, worker.ipcQueueDepth);
      for (const service of current.services) this.set({ process: 'master', peer: `service-${service.name}` }, service.ipcQueueDepth);
    });
    this.process.gauge('heldMessages', function collect(this: Gauge) {
      const current = stats();
      this.reset();
      for (const service of current.services) this.set({ service: service.name }, service.heldMessages);
    });
    this.process.counter('ipcDropped', function collect(this: Counter) {
      const current = stats();
      this.reset();
      for (const worker of current.workers) this.inc({ process: 'master', peer: `worker-${worker.id}` }, worker.ipcDropped);
      for (const service of current.services) this.inc({ process: 'master', peer: `service-${service.name}` }, service.ipcDropped);
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

  snapshot(): Promise<MetricsSnapshot> {
    return this.process.snapshot();
  }

  close(): void {
    this.process.close();
  }
}
