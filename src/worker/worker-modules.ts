/**
 * What a worker loads before it listens: the authenticator (the user's
 * `authenticate` module or the built-in JWT one) and the user's `http` app.
 * Without those options nothing is loaded (jose included). A failure names
 * the option and the file, and the worker reports it to the master before
 * it exits, so `listen()` fails with that reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkerConfig } from '../child-env';
import type { AuthenticateFunction } from './authenticate';
import { createJwtAuthenticator } from './jwt-auth';
import { SwitchyardError } from '../errors';
import { loadDefaultExport } from '../user-module';

/** The default export of an `http` module: a node:http request handler (an Express app is one). */
export type HttpAppHandler = (request: IncomingMessage, response: ServerResponse) => unknown;

export interface WorkerModules {
  readonly authenticate?: AuthenticateFunction;
  readonly httpApp?: HttpAppHandler;
}

/** The function `file` default-exports, or `SY_ERR_WORKER_MODULE_LOAD_FAILED` naming the option, the file and the cause. */
async function loadFunction(option: string, file: string): Promise<(...args: never[]) => unknown> {
  let exported: unknown;
  try {
    exported = await loadDefaultExport(file);
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_WORKER_MODULE_LOAD_FAILED', `options.${option}: cannot load ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  if (typeof exported !== 'function') {
    throw new SwitchyardError('SY_ERR_WORKER_MODULE_LOAD_FAILED', `options.${option}: ${file} must default-export a function, got ${exported === null ? 'null' : typeof exported}`);
  }
  return exported as (...args: never[]) => unknown;
}

export async function loadWorkerModules(config: WorkerConfig): Promise<WorkerModules> {
  const modules: { authenticate?: AuthenticateFunction; httpApp?: HttpAppHandler } = {};
  if (typeof config.authenticate === 'string') modules.authenticate = (await loadFunction('authenticate', config.authenticate)) as AuthenticateFunction;
  if (config.jwt !== undefined && config.jwt !== null) {
    // jose is loaded (by createJwtAuthenticator) only when a JWT authenticator is configured.
    modules.authenticate = await createJwtAuthenticator(config.jwt);
  }
  if (typeof config.httpApp === 'string') modules.httpApp = (await loadFunction('http', config.httpApp)) as HttpAppHandler;
  return modules;
}
