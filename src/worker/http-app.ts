/**
 * The user's own HTTP app (option `http`) on the worker's port: it gets the
 * plain requests none of Switchyard's routes takes (http-routes.ts decides
 * the order; docs/http-app.md). What it throws, or rejects with, is answered
 * 500 and logged, never a worker crash; one that has not started its answer
 * within `requestTimeout` gets 504 (one that is streaming is left alone).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import { ThrottledWarning } from '../throttled-log';
import { replyError } from './http-reply';
import type { HttpAppHandler } from './worker-modules';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class HttpApp {
  // A client can make the app fail once per request: throttled.
  private readonly failed: ThrottledWarning;
  private readonly slow: ThrottledWarning;

  constructor(
    private readonly handler: HttpAppHandler,
    private readonly timeout: number,
    log: Logger,
  ) {
    this.failed = new ThrottledWarning(log, 'the http app failed (answered 500)');
    this.slow = new ThrottledWarning(log, 'the http app did not answer within requestTimeout (answered 504)');
  }

  serve(request: IncomingMessage, response: ServerResponse): void {
    // One timer and a few closures per request to the app: the app itself costs far more.
    const timer = setTimeout(() => {
      if (response.headersSent || response.writableEnded) return;
      this.slow.warn({ url: request.url, timeoutMs: this.timeout });
      response.setHeader('Connection', 'close');
      replyError(response, 504, 'The request was not answered in time');
    }, this.timeout);
    response.once('close', () => clearTimeout(timer));
    try {
      const result = this.handler(request, response);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.fail(error, request, response));
    } catch (error) {
      this.fail(error, request, response);
    }
  }

  private fail(error: unknown, request: IncomingMessage, response: ServerResponse): void {
    this.failed.warn({ err: error, url: request.url, method: request.method });
    if (response.headersSent) {
      // Part of an answer is out: only cutting the connection tells the client it is not all.
      response.destroy();
      return;
    }
    for (const name of response.getHeaderNames()) response.removeHeader(name);
    response.setHeader('Connection', 'close');
    replyError(response, 500, 'Internal server error');
  }
}
