/**
 * What a `SwitchyardServer` emits: its event map and each event's payload
 * (re-exported by server.ts and the package's index).
 */
import type { ListenBalancing } from '../balancing';
import type { ChildExit } from './child';

export interface ReadyInfo {
  readonly port: number;
  readonly host: string;
  readonly workers: number;
  /** How connections reach the workers (option `balancing`, `'auto'` resolved for this runtime). */
  readonly balancing: ListenBalancing;
  /** Whether the port serves HTTPS and `wss://` (option `tls`). */
  readonly tls: boolean;
  /** Where the master serves the health, readiness and metrics endpoints (option `opsPort`), or null when the public port does. */
  readonly ops: { readonly host: string; readonly port: number } | null;
  /** Service name → URL path it answers on. */
  readonly services: Readonly<Record<string, string>>;
}

export interface WorkerExitInfo extends ChildExit {
  readonly workerId: number;
  /** False when the worker crashed (a replacement is forked). */
  readonly expected: boolean;
}

export interface WorkerOnlineInfo {
  readonly workerId: number;
  readonly pid: number | undefined;
}

export interface ServiceOnlineInfo {
  readonly service: string;
  /** Which instance (0 for a service that runs one). */
  readonly instance: number;
  readonly pid: number | undefined;
  readonly restarted: boolean;
}

export interface ServiceExitInfo extends ChildExit {
  readonly service: string;
  /** Which instance (0 for a service that runs one). */
  readonly instance: number;
  /** False when the service crashed (it is restarted). */
  readonly expected: boolean;
}

/** Events of a `SwitchyardServer`. */
export interface ServerEvents {
  ready: [info: ReadyInfo];
  /** A worker listens: at startup and after each replacement. */
  workerOnline: [info: WorkerOnlineInfo];
  workerExit: [info: WorkerExitInfo];
  /** A service runs: at startup and after each restart (`restarted: true`). */
  serviceOnline: [info: ServiceOnlineInfo];
  serviceExit: [info: ServiceExitInfo];
  /** A service instance crashed `crashLoopCount` times within `crashLoopWindow`: it stays down; its clients were closed with 1011 (the other instances serve on). */
  serviceFailed: [info: { readonly service: string; readonly instance: number; readonly clients: number }];
  /** A rolling reload finished. A reload that failed emits nothing: `reload()` rejects with `SY_ERR_RELOAD_FAILED`. */
  reload: [];
  close: [];
}
