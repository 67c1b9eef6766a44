/**
 * Where the worker and service entry modules are, next to this one: `.js` in
 * the build, `.ts` when the master itself runs from sources (tests, ts-node).
 */
import * as path from 'node:path';
import { execArgvFor, isTypeScriptPath, TS_NODE_ENV } from '../typescript-support';

const extension = path.extname(__filename);

export const WORKER_ENTRY = path.join(__dirname, '..', 'worker', `worker-main${extension}`);
export const SERVICE_ENTRY = path.join(__dirname, '..', 'services', `service-main${extension}`);

export interface ForkSettings {
  readonly execArgv: string[];
  readonly env: Readonly<Record<string, string>>;
}

/** execArgv and extra environment for a child whose entry module is `entry` and that may load `modules`. */
export function forkSettings(entry: string, modules: readonly string[] = []): ForkSettings {
  const needsTs = isTypeScriptPath(entry) || modules.some(isTypeScriptPath);
  return { execArgv: execArgvFor(entry), env: needsTs ? TS_NODE_ENV : {} };
}
