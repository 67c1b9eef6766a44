/**
 * The HTTP requests an instance answers for its workers' HTTP apps (a
 * `request` for `onRequest`, a `publish` for the service's own `publish`):
 * they run concurrently, outside any client's order, and each is answered on
 * its worker's link — at once when the handler returned a value, else when
 * its promise settles, within `requestTimeout` (past it the worker has
 * answered 504 already, and nothing is sent). Counted while in flight, so
 * that a stop waits for them (`ServiceHost.whenIdle`). Never held: one that
 * cannot be handled now is refused with a 503. The answers themselves are
 * made in request-answer.ts; the host only hands the requests over.
 */
import { decodePayload, type HttpRequestFields, type Payload, type ServiceToWorker, type WorkerToService } from '../protocol';
import { EXPIRED, settleWithin } from './deadline';
import { answerHttp, publishAnswer, unavailableAnswer, type HttpAnswer } from './request-answer';
import type { RequestOverruns } from './request-overruns';
import type { Service } from './service';
import type { ServiceMetrics } from './service-metrics';

/** What answering needs from the host; one per host. */
export interface HttpRequestsContext {
  readonly service: Service<unknown, unknown>;
  /** The service's name, for the 503's message. */
  readonly name: string;
  readonly requestTimeout: number;
  readonly metrics: ServiceMetrics | undefined;
  readonly overruns: RequestOverruns;
  /** Where the answers go: the host's transport, which queues them on the worker's link. */
  readonly links: { toWorker(worker: number, message: ServiceToWorker): boolean };
  /** `onRequest` failed unexpectedly: logged and counted by the host. */
  failed(error: unknown): void;
  /** A request in flight settled (or expired): the host's stop may be waiting for it. */
  settled(): void;
}

export class HttpRequests {
  private inFlightCount = 0;

  constructor(private readonly context: HttpRequestsContext) {}

  /** Requests whose handler's promise is being waited for. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Calls `onRequest` for `message` and answers it to `worker`. */
  answer(worker: number, message: HttpRequestFields & Payload): void {
    const answered = answerHttp(this.context.service, message, (error) => this.context.failed(error));
    // A handler that returned a value: answered now, no deadline to keep (the stop's wait sees nothing in flight).
    if (!(answered instanceof Promise)) return this.send(worker, message.rid, answered);
    void this.awaitAnswer(worker, message.rid, answered);
  }

  /** Publishes for the worker's HTTP app (`services.publish`) and answers how many subscribers it went to. */
  publish(worker: number, message: Extract<WorkerToService, { type: 'publish' }>): void {
    this.context.links.toWorker(worker, { type: 'response', rid: message.rid, ...publishAnswer(this.context.service, message.topic, decodePayload(message)) });
  }

  /** Answers request `rid` with a 503 (the instance retires, or the resume gate holds no more): requests are not kept. */
  refuse(worker: number, rid: string): void {
    this.context.links.toWorker(worker, { type: 'response', rid, ...unavailableAnswer(this.context.name) });
  }

  /** A handler that returned a promise: its answer is waited for at most `requestTimeout`, and a stop waits for it meanwhile. */
  private async awaitAnswer(worker: number, rid: string, answered: Promise<HttpAnswer>): Promise<void> {
    const { overruns } = this.context;
    this.inFlightCount++;
    try {
      const response = await settleWithin(answered, this.context.requestTimeout, {
        expired: () => overruns.expired('http', undefined),
        late: (outcome, error) => overruns.late('http', undefined, outcome, error),
      });
      // The worker started its clock first, so it has answered 504 already: nothing to send, and a stop no longer waits.
      if (response === EXPIRED) return;
      this.send(worker, rid, response);
    } finally {
      this.inFlightCount--;
      this.context.settled();
    }
  }

  private send(worker: number, rid: string, answer: HttpAnswer): void {
    this.context.metrics?.countRequest('http', answer.status < 500 ? 'ok' : 'error');
    this.context.links.toWorker(worker, { type: 'response', rid, ...answer });
  }
}
