/**
 * Forking one service instance for a `ServiceSlot` (`service-slot.ts`): its
 * endpoints (a new Unix socket path per process, so a link never reaches a
 * stale one), the configuration it is started with, and the `Child` that
 * carries its IPC. The slot decides what the new process becomes (the running
 * instance, a restart, a reload's candidate); the files its endpoints leave
 * are removed here when it exits.
 */
import type { ForkOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeChildConfig, CHILD_CONFIG_ENV, type IpcLimits } from '../child-env';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import { isServiceToMaster, type MasterToService, type ServiceToMaster } from '../protocol';
import { Child, type ChildExit, type ChildHandle } from './child';
import { SERVICE_ENTRY, forkSettings } from './entry-points';

/** How a service process is started: `child_process.fork` by default; a fake in unit tests. */
export type ForkProcess = (modulePath: string, args: readonly string[], options: ForkOptions) => ChildHandle;

/** The master's handle on one service process. */
export type ServiceChild = Child<MasterToService, ServiceToMaster>;

/** A forked instance and where it listens. */
export interface ForkedInstance {
  readonly child: ServiceChild;
  readonly endpoint: string;
}

/** What every instance of one slot is forked with. */
export interface ServiceForkSpec {
  readonly name: string;
  readonly modulePath: string;
  /** The private folder for the instances' endpoints (made when the server starts). */
  readonly socketDir: () => string;
  /** The slot's index among all (socket paths stay short). */
  readonly index: number;
  /** The instance's index (0 to `instances` − 1). */
  readonly instanceIndex: number;
  /** The service's instance count now (a reload may change it between a fork and that process's exit). */
  readonly instances: () => number;
  readonly options: ResolvedOptions;
  readonly limits: IpcLimits;
  readonly log: Logger;
  readonly forkProcess: ForkProcess;
  /** A message the process sent, already checked by `isServiceToMaster`. */
  onMessage(child: ServiceChild, message: ServiceToMaster): void;
  /** The process exited; its endpoints' files are gone already. */
  onExit(child: ServiceChild, exit: ChildExit): void;
}

/** Where an instance listening at `endpoint` takes its peers' connections. */
export function peerEndpointOf(endpoint: string): string {
  return endpoint.replace(/\.sock$/, '.peer.sock');
}

/**
 * Forks process number `generation` of the slot (`key`: the instance's name
 * in reports, see `instanceKey`), with an endpoint of its own.
 */
export function forkServiceInstance(spec: ServiceForkSpec, generation: number, key: string): ForkedInstance {
  const { options } = spec;
  const settings = forkSettings(SERVICE_ENTRY, [spec.modulePath]);
  const endpoint = path.join(spec.socketDir(), `${spec.index.toString(36)}.${generation.toString(36)}.sock`);
  const instances = spec.instances();
  const config = encodeChildConfig({
    role: 'service',
    name: spec.name,
    modulePath: spec.modulePath,
    logLevel: options.logLevel,
    logPretty: options.logPretty,
    ipc: spec.limits,
    requestTimeout: options.requestTimeout,
    // A worker that has not resumed within it would make the service not live anyway (liveness.ts).
    resumeTimeout: options.livenessTimeout,
    endpoint,
    instance: spec.instanceIndex,
    instances,
    ...(instances > 1 ? { peerEndpoint: peerEndpointOf(endpoint) } : {}),
    ...(options.cluster !== false ? { cluster: options.cluster } : {}),
  });
  const processHandle = spec.forkProcess(SERVICE_ENTRY, [], {
    cwd: options.cwd,
    env: { ...process.env, ...settings.env, [CHILD_CONFIG_ENV]: config },
    execArgv: settings.execArgv,
    serialization: 'json',
  });
  const instance = `service-${key}.${generation}`;
  const child: ServiceChild = new Child(processHandle, instance, spec.limits, spec.log, {
    guard: isServiceToMaster,
    onMessage: (message) => spec.onMessage(child, message),
    onExit: (exit) => {
      fs.rmSync(endpoint, { force: true });
      if (spec.instances() > 1) fs.rmSync(peerEndpointOf(endpoint), { force: true });
      spec.onExit(child, exit);
    },
  });
  return { child, endpoint };
}
