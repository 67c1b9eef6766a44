/**
 * Where the worker and service entry modules are, next to this one: `.js` in
 * the build, `.ts` when the master itself runs from sources (tests, ts-node).
 */
import * as path from 'node:path';
import { execArgvFor, isTypeScriptPath, typeScriptEnv } from '../typescript-support';

const extension = path.extname(__filename);

export const WORKER_ENTRY = path.join(__dirname, '..', 'worker', `worker-main${extension}`);
export const SERVICE_ENTRY = path.join(__dirname, '..', 'services', `service-main${extension}`);

/**
 * V8's young generation per child, in MiB (`--max-semi-space-size`). V8 grows
 * it to 16 MiB per semi-space under allocation bursts such as a connection
 * storm and keeps it: about 28 MiB more RSS in every worker. Measured with
 * `packages/bench/suite/ab.ts` (idle memory, echo): 2 MiB cuts idle RSS per
 * connection by a third and did not slow the echo path. Not applied when the
 * user already set the flag (NODE_OPTIONS or the master's execArgv).
 */
export const CHILD_SEMI_SPACE_MIB = 2;

function semiSpaceFlag(): string[] {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => /max[-_]semi[-_]space[-_]size/.test(arg));
  return given ? [] : [`--max-semi-space-size=${CHILD_SEMI_SPACE_MIB}`];
}

export interface ForkSettings {
  readonly execArgv: string[];
  readonly env: Readonly<Record<string, string>>;
}

/** execArgv and extra environment for a child whose entry module is `entry` and that may load `modules`. */
export function forkSettings(entry: string, modules: readonly string[] = []): ForkSettings {
  const needsTs = isTypeScriptPath(entry) || modules.some(isTypeScriptPath);
  return { execArgv: [...semiSpaceFlag(), ...execArgvFor(entry, modules)], env: needsTs ? typeScriptEnv(entry) : {} };
}
