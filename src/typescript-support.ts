/**
 * Lets the cluster run from TypeScript sources (development, tests) and load
 * services written in TypeScript. Two maintained loaders, both optional peer
 * dependencies, chosen automatically: tsx (esbuild, with an on-disk cache)
 * when it is installed, else ts-node in transpile-only mode. Only `.ts`
 * modules need either.
 *
 * Why tsx first: each child process that runs `.ts` code compiles it at
 * start. Loading the worker and service modules from sources took 1.9 s
 * (2.7 s of CPU) per process through ts-node and 0.23 s through tsx here,
 * and a cluster starts a process per worker and per service instance.
 */
import { SwitchyardError } from './errors';

let registered = false;

export function isTypeScriptPath(file: string): boolean {
  return /\.(?:c|m)?tsx?$/.test(file) && !file.endsWith('.d.ts');
}

/** Which loader runs `.ts` code in this installation, or `undefined` when neither is installed. */
export type TypeScriptLoader = 'tsx' | 'ts-node';

function resolvable(request: string): string | undefined {
  try {
    return require.resolve(request);
  } catch {
    return undefined;
  }
}

/** The loader `.ts` modules go through: tsx when installed, else ts-node. */
export function typeScriptLoader(): TypeScriptLoader | undefined {
  if (resolvable('tsx/cjs') !== undefined) return 'tsx';
  if (resolvable('ts-node') !== undefined) return 'ts-node';
  return undefined;
}

function missing(): SwitchyardError {
  return new SwitchyardError('SY_ERR_TS_NODE_MISSING', 'loading .ts modules needs tsx or ts-node: npm install --save-dev tsx');
}

/** Environment for children that run `.ts` code through ts-node: fast, CommonJS output (tsx needs none). */
export const TS_NODE_ENV: Readonly<Record<string, string>> = {
  TS_NODE_TRANSPILE_ONLY: 'true',
  TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: 'commonjs' }),
};

/** `execArgv` for a child whose entry module is `entry`. */
export function execArgvFor(entry: string): string[] {
  if (!isTypeScriptPath(entry)) return [];
  switch (typeScriptLoader()) {
    case 'tsx':
      return ['--require', require.resolve('tsx/cjs')];
    case 'ts-node':
      return ['-r', require.resolve('ts-node/register/transpile-only')];
    case undefined:
      throw missing();
  }
}

/** Extra environment for a child that runs `.ts` code. */
export function typeScriptEnv(): Readonly<Record<string, string>> {
  return typeScriptLoader() === 'ts-node' ? TS_NODE_ENV : {};
}

/** Makes `require()` of `.ts` files work in this process. */
export function registerTypeScript(): void {
  if (registered || process.execArgv.some((arg) => arg.includes('ts-node') || arg.includes('tsx'))) return;
  // ts-jest, tsx or ts-node itself may already handle .ts here.
  if (require.extensions['.ts'] !== undefined) return;
  switch (typeScriptLoader()) {
    case 'tsx': {
      const tsx = require('tsx/cjs/api') as { register(): unknown };
      tsx.register();
      break;
    }
    case 'ts-node': {
      const tsNode = require('ts-node') as { register(options: object): unknown };
      tsNode.register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
      break;
    }
    case undefined:
      throw missing();
  }
  registered = true;
}
