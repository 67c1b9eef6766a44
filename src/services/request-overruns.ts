/**
 * Requests whose handler outlived `requestTimeout`, of either transport (an
 * envelope request in its client's lane, an HTTP request): each is answered
 * with its timeout and no longer waited for (`deadline.ts`), and what its
 * handler does later is counted and logged, never sent. One place for both
 * transports, so that the counter, the metric and the log lines agree; apart
 * from the host because neither transport's answering owns the other's.
 */
import type { Logger } from '../logger';
import type { LateOutcome } from './deadline';
import type { ServiceMetrics } from './service-metrics';
import { ThrottledWarning } from '../throttled-log';

export type RequestTransport = 'http' | 'websocket';

/** What the overruns count, in the host's stats. */
export interface OverrunStats {
  /** Requests whose handler settled after `requestTimeout` (already answered by the timeout): result ignored. */
  lateSettlements: number;
}

export class RequestOverruns {
  // A client can send hung requests in a loop: throttled.
  private readonly expiredWarning: ThrottledWarning;
  private readonly lateWarning: ThrottledWarning;

  constructor(
    private readonly service: string,
    private readonly requestTimeout: number,
    private readonly stats: OverrunStats,
    private readonly metrics: ServiceMetrics | undefined,
    log: Logger,
  ) {
    this.expiredWarning = new ThrottledWarning(log, 'request handler still running past requestTimeout; no longer waited for');
    this.lateWarning = new ThrottledWarning(log, 'request handler settled after requestTimeout; its result is ignored');
  }

  /** A request's handler outlived `requestTimeout`: it is no longer waited for (the envelope counted its own timeout reply). */
  expired(transport: RequestTransport, id: string | undefined): void {
    if (transport === 'http') this.metrics?.countRequest('http', 'timeout');
    this.expiredWarning.warn({ service: this.service, transport, client: id, timeoutMs: this.requestTimeout });
  }

  /** A request's handler settled after it was no longer waited for: counted and logged, its outcome dropped. */
  late(transport: RequestTransport, id: string | undefined, outcome: LateOutcome, error: unknown): void {
    this.stats.lateSettlements++;
    this.metrics?.countRequest(transport, 'late');
    this.lateWarning.warn({ service: this.service, transport, client: id, outcome, err: error, late: this.stats.lateSettlements });
  }
}
