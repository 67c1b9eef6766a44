/**
 * For tests that check that something does NOT happen: there is no event to
 * wait for, so the test gives it a named, bounded window. Use it only for
 * absence; for anything that does happen, wait on its event.
 */

/** Resolves after `ms` if `promise` has not settled by then; rejects (failing the test) if it settled first. */
export async function expectNothingWithin(ms: number, promise: Promise<unknown>, what = 'the promise'): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), ms)));
  const settled = promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  const outcome = await Promise.race([quiet, settled]);
  clearTimeout(timer);
  if (outcome !== 'quiet') throw new Error(`expected nothing within ${ms} ms, but ${what} ${outcome}`);
}
