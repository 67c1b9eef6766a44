/**
 * What a service process's messages mean to the master, where that needs no
 * more than the message: the error of a failed start, and the messages of a
 * reload's new instance while it starts next to the running one (the running
 * instance's are handled in `service-slot.ts`, which owns its lifecycle).
 */
import { SwitchyardError } from '../errors';
import type { MetricsSnapshot, ServiceToMaster } from '../protocol';
import type { ReloadCandidate } from './reload-candidate';

/** The `SY_ERR_SERVICE_START_FAILED` of a `startFailed` message from service `service`. */
export function startFailedError(service: string, error: Extract<ServiceToMaster, { type: 'startFailed' }>['error']): SwitchyardError {
  return new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${service}" failed to start: ${error.message}`, { cause: error });
}

/** A reload's new instance, until it takes over: it starts, fails, or answers a metrics request. */
export function onCandidateMessage(
  candidate: ReloadCandidate,
  message: ServiceToMaster,
  service: string,
  hooks: { onMetrics(qid: number, metrics: MetricsSnapshot): void },
): void {
  switch (message.type) {
    case 'started':
      candidate.markStarted();
      return;
    case 'startFailed':
      candidate.fail(startFailedError(service, message.error));
      return;
    case 'metrics':
      hooks.onMetrics(message.qid, message.metrics);
      return;
    case 'stopped':
    case 'pong':
      return;
    default: {
      const unreachable: never = message;
      throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
    }
  }
}
