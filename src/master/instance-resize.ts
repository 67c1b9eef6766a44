/**
 * A reload that changes how many instances a service runs: the checks of
 * `reload({ instances })` and the order of the change (docs/instances.md,
 * "Reload"). The server owns the slots; this module only sequences them.
 */
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import { MAX_INSTANCES } from '../options';
import type { MasterToWorker } from '../protocol';
import type { ServiceSlot } from './service-slot';

/** What a reload may change besides the code on disk. */
export interface ReloadOptions {
  /**
   * New instance counts by service name (1 to 64). A service whose count
   * changes gains or loses instances, and each client whose shard key then
   * maps to another instance is closed with 1012 (it reconnects to its new
   * owner); the others stay connected. See docs/instances.md.
   */
  readonly instances?: Readonly<Record<string, number>>;
  /**
   * Whether the workers are replaced too (each closes its clients with 1012
   * once its replacement listens). Default `true`. `false` reloads only the
   * services: no client is closed, except those a changed count moves.
   */
  readonly workers?: boolean;
}

/** What the change works with; the server provides it. */
export interface ResizeContext {
  slotsOf(name: string): readonly ServiceSlot[];
  newSlot(name: string, instance: number, instances: number): ServiceSlot;
  setSlots(name: string, slots: readonly ServiceSlot[]): void;
  /** Workers forked from now on keep this many links. */
  setWorkerInstances(name: string, instances: number): void;
  toWorkers(message: MasterToWorker): void;
  /** Tells the workers and the running siblings where a (new) instance listens. */
  announce(slot: ServiceSlot): void;
  startTimeout(): number;
  reloadInTurn(slots: readonly ServiceSlot[], deadline: number): Promise<void>;
  log(): Logger;
}

/** The new instance counts a reload asks for, checked at once (a caller bug throws before anything changes). */
export function checkCounts(options: ReloadOptions, isService: (name: string) => boolean): Map<string, number> {
  const counts = new Map<string, number>();
  if (typeof options !== 'object' || options === null) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload() takes an options object');
  const { instances } = options;
  if (instances === undefined) return counts;
  if (typeof instances !== 'object' || instances === null) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload options.instances must be an object of service name → count');
  for (const [name, count] of Object.entries(instances)) {
    if (!isService(name)) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `reload options.instances.${name}: there is no service named "${name}"`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_INSTANCES) {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `reload options.instances.${name} must be an integer from 1 to ${MAX_INSTANCES}, got ${String(count)}`);
    }
    counts.set(name, count);
  }
  return counts;
}

/**
 * Growing: the new instances start first (a failure stops them and fails the
 * reload with nothing moved), then the workers re-place their clients (those
 * whose key now maps elsewhere get 1012), then the old instances are
 * reloaded one at a time, so that every process knows the new count and its
 * peers. Shrinking: the workers re-place their clients first, the removed
 * instances then stop (hearing every one of their clients' closes), and the
 * rest reload one at a time.
 */
export async function resizeService(context: ResizeContext, name: string, instances: number, deadline: number): Promise<void> {
  const slots = context.slotsOf(name);
  context.log().info({ service: name, from: slots.length, to: instances }, 'rolling reload: changing the instance count');
  if (instances > slots.length) {
    const added: ServiceSlot[] = [];
    for (let i = slots.length; i < instances; i++) added.push(context.newSlot(name, i, instances));
    const started = await Promise.allSettled(added.map((slot) => startWithin(slot, context.startTimeout())));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(added.map((slot) => slot.stop(deadline)));
      throw (failed as PromiseRejectedResult).reason;
    }
    for (const slot of slots) slot.resize(instances);
    context.setSlots(name, [...slots, ...added]);
    context.setWorkerInstances(name, instances);
    context.toWorkers({ type: 'serviceResized', service: name, instances });
    // Announced at their start already, to workers that had no link for them yet: again, now that they have.
    for (const slot of added) context.announce(slot);
    await context.reloadInTurn(slots, deadline);
    return;
  }
  const kept = slots.slice(0, instances);
  const removed = slots.slice(instances);
  for (const slot of kept) slot.resize(instances);
  context.setSlots(name, kept);
  context.setWorkerInstances(name, instances);
  context.toWorkers({ type: 'serviceResized', service: name, instances });
  await Promise.all(removed.map((slot) => slot.stop(deadline)));
  await context.reloadInTurn(kept, deadline);
}

/** A new instance's first start, bounded by `startTimeout` (at `listen()` the whole start is bounded instead). */
async function startWithin(slot: ServiceSlot, startTimeout: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${slot.key}" did not start within ${startTimeout} ms`)), startTimeout);
  });
  try {
    await Promise.race([slot.start(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
