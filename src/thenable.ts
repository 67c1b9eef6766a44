/**
 * Whether a user callback's result is something `await` would wait for: an
 * object or function with a `then` method. Reading `then` may throw (a getter):
 * callers read it where a throw fails the call, as `await` would.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
