/**
 * What one worker counts. Hot-path counters are plain numbers on an object
 * each connection holds a reference to; they become prom-client metrics only
 * when the master gathers a snapshot.
 */
import type { Counter, Gauge } from 'prom-client';
import { ProcessMetrics, Tally } from '../metrics/process-metrics';
import type { MetricsSnapshot } from '../protocol';
import { registerLinkMetrics, type LinkTotals } from '../nats/nats-metrics';

/** Close codes reported as themselves in `switchyard_connections_closed_total`; others count as "other". */
const REPORTED_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1002, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013]);

export interface ServiceCounters {
  open: number;
  opened: number;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

export interface QueueGauge {
  readonly depth: number;
  readonly dropped: number;
}

export class WorkerMetrics {
  private readonly process: ProcessMetrics;
  private readonly perService = new Map<string, ServiceCounters>();
  private readonly closed = new Tally(['service', 'code']);
  private readonly httpRequests = new Tally(['service', 'status']);
  private readonly rejected = new Tally(['status']);
  private readonly quarantinedEvents = new Tally(['service']);
  /** Messages from the services' links, by type: shows that interest routing spares this worker. */
  private readonly ipcReceived: Record<string, number> = {};

  constructor(workerId: number, services: readonly string[], queue: QueueGauge) {
    const processName = `worker-${workerId}`;
    this.process = new ProcessMetrics(processName);
    for (const service of services) this.perService.set(service, { open: 0, opened: 0, messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 });
    const perService = this.perService;
    const field = (key: keyof ServiceCounters) =>
      function collect(this: Counter): void {
        this.reset();
        for (const [service, counters] of perService) this.inc({ service }, counters[key]);
      };
    this.process.gauge('connectionsCurrent', function collect(this: Gauge) {
      for (const [service, counters] of perService) this.set({ service }, counters.open);
    });
    this.process.counter('connectionsOpened', field('opened'));
    this.process.counter('messagesReceived', field('messagesIn'));
    this.process.counter('bytesReceived', field('bytesIn'));
    this.process.counter('messagesSent', field('messagesOut'));
    this.process.counter('bytesSent', field('bytesOut'));
    const closed = this.closed;
    const httpRequests = this.httpRequests;
    const rejected = this.rejected;
    this.process.counter('connectionsClosed', function collect(this: Counter) {
      closed.publish(this);
    });
    this.process.counter('httpRequests', function collect(this: Counter) {
      httpRequests.publish(this);
    });
    this.process.counter('upgradesRejected', function collect(this: Counter) {
      rejected.publish(this);
    });
    const quarantinedEvents = this.quarantinedEvents;
    this.process.counter('quarantined', function collect(this: Counter) {
      quarantinedEvents.publish(this);
    });
    const ipcReceived = this.ipcReceived;
    this.process.counter('ipcReceived', function collect(this: Counter) {
      this.reset();
      for (const [type, count] of Object.entries(ipcReceived)) this.inc({ process: processName, type }, count);
    });
    this.process.gauge('ipcQueueDepth', function collect(this: Gauge) {
      this.set({ process: processName, peer: 'master' }, queue.depth);
    });
    this.process.counter('ipcDropped', function collect(this: Counter) {
      this.reset();
      this.inc({ process: processName, peer: 'master' }, queue.dropped);
    });
  }

  /** The counters of a service; each connection keeps this reference. */
  service(name: string): ServiceCounters {
    const counters = this.perService.get(name);
    if (counters === undefined) throw new Error(`unknown service ${name}`);
    return counters;
  }

  /** Counts one message from a service's link, by its type. */
  linkMessage(type: string): void {
    this.ipcReceived[type] = (this.ipcReceived[type] ?? 0) + 1;
  }

  connectionClosed(service: string, code: number): void {
    // Clients choose their close code (3000-4999 included): keep the label's values bounded.
    this.closed.add(service, REPORTED_CLOSE_CODES.has(code) ? String(code) : 'other');
  }

  httpRequest(service: string, status: number): void {
    this.httpRequests.add(service, String(status));
  }

  /** A client event of `service` was quarantined (its client closed with 1011). */
  quarantined(service: string): void {
    this.quarantinedEvents.add(service);
  }

  upgradeRejected(status: number): void {
    this.rejected.add(String(status));
  }

  /** With `cluster`: the NATS link counters of this worker (nats-metrics.ts). */
  trackNats(totals: () => LinkTotals | undefined): void {
    registerLinkMetrics(this.process, totals);
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.process.snapshot();
  }

  close(): void {
    this.process.close();
  }
}
