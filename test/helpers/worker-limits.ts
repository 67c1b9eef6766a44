/**
 * Worker limits for unit tests: the defaults exactly as the master derives
 * them from the options spec (`workerLimits(resolveOptions())`), with what a
 * test sets over them. A new worker option then needs no edit here or in the
 * tests that do not care about it.
 */
import { workerLimits, type WorkerLimits } from '../../src/child-env';
import { resolveOptions } from '../../src/options';

export function testWorkerLimits(overrides: Partial<WorkerLimits> = {}): WorkerLimits {
  return { ...workerLimits(resolveOptions({ staticDir: false })), ...overrides };
}
