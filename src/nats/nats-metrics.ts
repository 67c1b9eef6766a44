/**
 * The NATS counters of one process (a worker's or a service's router, the
 * master's registry), as prom-client metrics. Read at scrape time from
 * plain numbers; registered only with `cluster`, so one machine exports
 * none of them.
 */
import type { Counter, Gauge } from 'prom-client';
import type { ProcessMetrics } from '../metrics/process-metrics';
import type { ChannelStats } from './channel-types';
import type { RouterStats } from './channel-router';
import type { PeerInfo, RegistryStats } from './node-registry';

/** A process's link counters: every channel it has had (closed ones included, so counters never go back) and its router's refusals. */
export interface LinkTotals {
  readonly channels: ChannelStats;
  readonly router: RouterStats;
}

/** Registers the link counters of a worker or a service process. */
export function registerLinkMetrics(process: ProcessMetrics, totals: () => LinkTotals | undefined): void {
  process.counter('natsFrames', function collect(this: Counter) {
    const current = totals();
    this.reset();
    this.inc({ direction: 'sent' }, current?.channels.framesSent ?? 0);
    this.inc({ direction: 'received' }, current?.channels.framesReceived ?? 0);
  });
  process.counter('natsBytes', function collect(this: Counter) {
    const current = totals();
    this.reset();
    this.inc({ direction: 'sent' }, current?.channels.bytesSent ?? 0);
    this.inc({ direction: 'received' }, current?.channels.bytesReceived ?? 0);
  });
  process.counter('natsResends', function collect(this: Counter) {
    this.reset();
    this.inc(totals()?.channels.resends ?? 0);
  });
  process.counter('natsResets', function collect(this: Counter) {
    this.reset();
    this.inc(totals()?.channels.resets ?? 0);
  });
  process.counter('natsRefused', function collect(this: Counter) {
    const current = totals();
    this.reset();
    this.inc({ reason: 'refused' }, current?.router.refused ?? 0);
    this.inc({ reason: 'unrouted' }, current?.router.unrouted ?? 0);
    this.inc({ reason: 'malformed' }, (current?.router.malformed ?? 0) + (current?.channels.malformed ?? 0));
  });
}

/** Registers the master's registry counters and its view of the other nodes. */
export function registerRegistryMetrics(process: ProcessMetrics, stats: () => RegistryStats | undefined, peers: () => readonly PeerInfo[]): void {
  process.counter('natsRefused', function collect(this: Counter) {
    const current = stats();
    this.reset();
    this.inc({ reason: 'heartbeat_refused' }, current?.refused ?? 0);
    this.inc({ reason: 'heartbeat_malformed' }, current?.malformed ?? 0);
    this.inc({ reason: 'conflict' }, current?.conflicts ?? 0);
  });
  process.gauge('natsNodes', function collect(this: Gauge) {
    this.reset();
    const counts = { up: 0, down: 0, unknown: 0 };
    for (const peer of peers()) counts[peer.state]++;
    for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
  });
}
