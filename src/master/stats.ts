/**
 * What `SwitchyardServer.stats()` returns, in a module of its own: the server,
 * the worker pool and the master's metrics all read these types, and none of
 * them needs to import another for them.
 */
import type { RoutingCounters } from '../protocol';
import type { ServiceState } from './service-slot';

/** The server's lifecycle: `idle → starting → listening → closing → closed`. */
export type ServerState = 'idle' | 'starting' | 'listening' | 'closing' | 'closed';

/**
 * Client counts, held messages and routing counters come from the workers'
 * status reports, which follow a change of clients within about 20 ms and
 * one the message flow alone made (held counts) within 100 ms.
 */
export interface WorkerStats {
  readonly id: number;
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly clients: number;
  readonly uptimeMs: number;
  readonly ipcQueueDepth: number;
  readonly ipcDropped: number;
}

/** One service instance (a service in the string form has one, `instance: 0`). */
export interface ServiceStats {
  readonly name: string;
  /** The instance's index, 0 to its service's `instances` − 1. */
  readonly instance: number;
  readonly pid: number | undefined;
  readonly state: ServiceState;
  readonly restarts: number;
  readonly uptimeMs: number;
  readonly heldMessages: number;
  readonly ipcQueueDepth: number;
  /** Messages refused by the master's send queue to this service, over all its instances. */
  readonly ipcDropped: number;
}

/**
 * A service instance placed on another node (`cluster`): this node runs no
 * process for it, but its workers hold the events of their clients of it
 * until that node's instance acknowledges them.
 */
export interface RemoteServiceStats {
  readonly name: string;
  /** The instance's index, 0 to its service's `instances` − 1. */
  readonly instance: number;
  /** The node the instance is placed on. */
  readonly node: string;
  /** Events this node's workers hold for it: in flight, being handled, or held while its node is away. */
  readonly heldMessages: number;
}

export interface ServerStats {
  readonly state: ServerState;
  readonly clients: number;
  readonly workerRestarts: number;
  readonly workers: readonly WorkerStats[];
  readonly services: readonly ServiceStats[];
  /** With `cluster`: each instance placed on another node (none without `cluster`). */
  readonly remoteServices: readonly RemoteServiceStats[];
  /**
   * What the workers dropped or refused on their service links (see
   * `RoutingCounters`), summed over every worker since the server started:
   * the counts of workers that exited are kept, so these never go down.
   */
  readonly routing: RoutingCounters;
}
