/**
 * A bound on how long a caller waits for a handler's promise, without
 * cancelling the handler (JavaScript cannot): past the deadline the caller
 * goes on, and what the handler does later is reported, never acted on. The
 * one primitive for both uses: a client's lane waiting on an envelope request
 * (client-lanes.ts) and a stop waiting on an HTTP request (http-requests.ts).
 */

/** What a bounded wait resolves with when the deadline came first. */
export const EXPIRED: unique symbol = Symbol('switchyard.expired');

/** How a handler that outlived its deadline finally settled. */
export type LateOutcome = 'resolved' | 'rejected';

/** What to do when the deadline passes, and when the handler settles after it. */
export interface DeadlineHooks {
  /** The deadline passed first: the caller goes on now. */
  expired(): void;
  /** The handler settled after its deadline: its result or error is ignored. */
  late(outcome: LateOutcome, error: unknown): void;
}

/**
 * Follows `pending` (its value or its rejection) if it settles within `ms`;
 * otherwise calls `hooks.expired()` and resolves with `EXPIRED` at the
 * deadline, and reports the later settlement through `hooks.late`. One timer,
 * cleared as soon as `pending` settles in time.
 */
export function settleWithin<T>(pending: PromiseLike<T>, ms: number, hooks: DeadlineHooks): Promise<T | typeof EXPIRED> {
  return new Promise((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      hooks.expired();
      resolve(EXPIRED);
    }, ms);
    pending.then(
      (value) => {
        if (expired) return hooks.late('resolved', undefined);
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (expired) return hooks.late('rejected', error);
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
