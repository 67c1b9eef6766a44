/** Metrics a service process reports: handler errors, requests, delivery latency, undeliverable messages, clients closed for a dropped message. */
import { registerLinkMetrics, type LinkTotals } from '../nats/nats-metrics';
import { type Counter, type Histogram } from 'prom-client';
import { ProcessMetrics, Tally } from '../metrics/process-metrics';
import type { MetricsSnapshot } from '../protocol';

const DELIVERY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class ServiceMetrics {
  private readonly process: ProcessMetrics;
  private readonly delivery: Histogram;
  private readonly requests = new Tally(['transport', 'outcome']);
  private handlerErrors = 0;
  private undeliverable = 0;
  private backlogClosed = 0;
  private invalidJson = 0;
  private invalidSchema = 0;

  /** `instance`: how the process is named in `process` labels (`instanceKey`: the service's name, or `<name>#<index>` with several instances). */
  constructor(
    private readonly service: string,
    instance: string = service,
  ) {
    this.process = new ProcessMetrics(`service-${instance}`);
    this.delivery = this.process.histogram('deliveryLatency', DELIVERY_BUCKETS);
    const errors = (): number => this.handlerErrors;
    this.process.counter('handlerErrors', function collect(this: Counter) {
      this.reset();
      this.inc({ service }, errors());
    });
    const undeliverable = (): number => this.undeliverable;
    this.process.counter('routingDropped', function collect(this: Counter) {
      this.reset();
      this.inc({ reason: 'undeliverable' }, undeliverable());
    });
    const backlogClosed = (): number => this.backlogClosed;
    this.process.counter('backlogClosed', function collect(this: Counter) {
      this.reset();
      this.inc({ service }, backlogClosed());
    });
    // Only a typed service can refuse a message: an untyped one reports no series (nothing changes for it).
    const invalid = (): readonly [number, number] => [this.invalidJson, this.invalidSchema];
    this.process.counter('invalidMessages', function collect(this: Counter) {
      this.reset();
      const [json, schema] = invalid();
      if (json > 0) this.inc({ service, reason: 'json' }, json);
      if (schema > 0) this.inc({ service, reason: 'schema' }, schema);
    });
    const requests = this.requests;
    this.process.counter('serviceRequests', function collect(this: Counter) {
      requests.publish(this, { service });
    });
  }

  /** `receivedAt`: epoch ms when the worker read the message. */
  observeDelivery(receivedAt: number): void {
    this.delivery.observe({ service: this.service }, Math.max(0, Date.now() - receivedAt) / 1000);
  }

  countRequest(transport: 'http' | 'websocket', outcome: string): void {
    this.requests.add(transport, outcome);
  }

  setHandlerErrors(count: number): void {
    this.handlerErrors = count;
  }

  /** Messages the service could not hand to a worker: its link was gone or full. */
  setUndeliverable(count: number): void {
    this.undeliverable = count;
  }

  /** Clients closed with 1013 because a message to them was dropped at a full link queue. */
  setBacklogClosed(count: number): void {
    this.backlogClosed = count;
  }

  /** With `cluster`: the NATS link counters of this instance (nats-metrics.ts). */
  trackNats(totals: () => LinkTotals | undefined): void {
    registerLinkMetrics(this.process, totals);
  }

  /** Messages a typed service refused (SY_ERR_INVALID_MESSAGE): not JSON text, and rejected by its schema. */
  setInvalidMessages(json: number, schema: number): void {
    this.invalidJson = json;
    this.invalidSchema = schema;
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.process.snapshot();
  }

  close(): void {
    this.process.close();
  }
}
