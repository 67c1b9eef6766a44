/**
 * The order of a rolling reload (`SwitchyardServer.reload()` checks its
 * arguments and the server's state, then calls this): the TLS files first,
 * then the services (each by hold-and-replay, or resized when its instance
 * count changes: instance-resize.ts), then the workers one at a time.
 */
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import { resizeService } from './instance-resize';
import type { MasterProcesses } from './master-processes';
import type { ServiceSlot } from './service-slot';

/** What the reload needs of the server besides its processes. */
export interface ReloadServer {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  /** Whether `close()` was called: a reload then stops where it is, without emitting `reload`. */
  closing(): boolean;
  /** Emits the server's `reload` event. */
  reloaded(): void;
}

/**
 * Services first: a new instance that cannot start fails the reload before
 * any client has been moved (the worker reload closes every client with 1012).
 */
export async function rollingReload(server: ReloadServer, processes: MasterProcesses, counts: ReadonlyMap<string, number>, replaceWorkers: boolean): Promise<void> {
  try {
    // First: a certificate that cannot be used fails the reload before anything is touched.
    processes.renewTls();
  } catch (cause) {
    server.log.error({ err: cause }, 'reload: the TLS files cannot be used; the workers keep their certificate');
    throw new SwitchyardError('SY_ERR_RELOAD_FAILED', `reload failed: ${(cause as Error).message}; nothing was reloaded and the workers keep their certificate`, { cause });
  }
  server.log.info('rolling reload: services');
  const deadline = Date.now() + server.options.stopTimeout;
  // Services side by side; a service's instances one at a time, so that its other shards serve throughout.
  // With `cluster`, a node may run none of a service's instances, or some of them (counts cannot change then: see reload()).
  const services = [...processes.services.values()].filter((slots) => slots.length > 0);
  const outcomes = await Promise.allSettled(
    services.map((slots) => {
      const name = (slots[0] as ServiceSlot).name;
      const count = counts.get(name);
      return count === undefined || count === slots.length || processes.cluster !== undefined ? reloadInTurn(slots, deadline) : resizeService(processes.resizing, name, count, deadline);
    }),
  );
  if (server.closing()) return;
  const failures = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ service: (services[i] as readonly ServiceSlot[])[0]?.name ?? '', cause: outcome.reason as unknown }] : []));
  if (failures.length > 0) {
    // Each cause names its service: `service "chat" failed to start: …`.
    const detail = failures.map(({ service, cause }) => (cause instanceof Error ? cause.message : `service "${service}": ${String(cause)}`)).join('; ');
    const error = new SwitchyardError('SY_ERR_RELOAD_FAILED', `reload failed: ${detail}; the running instances keep serving and the workers were not replaced`, {
      cause: failures[0]?.cause,
    });
    // Each slot has logged its failure; the caller of reload() reports the whole (the CLI logs it on SIGHUP).
    throw error;
  }
  if (replaceWorkers) {
    server.log.info('rolling reload: workers');
    await processes.pool.reload();
  }
  if (server.closing()) return;
  server.log.info('rolling reload done');
  server.reloaded();
}

/** Reloads a service's instances one after another; the first that cannot start stops the turn (the rest keep their running code). */
export async function reloadInTurn(slots: readonly ServiceSlot[], deadline: number): Promise<void> {
  for (const slot of slots) await slot.reload(deadline);
}
