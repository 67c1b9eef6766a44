/**
 * Lets the cluster run from TypeScript sources (development, tests) and load
 * user modules (services, the authenticator, the HTTP app, a config file)
 * written in TypeScript. Chosen automatically, in this order:
 *
 * 1. tsx (esbuild, with an on-disk cache) when it is installed: `.ts`,
 *    `.cts`, `.mts`, top-level `await` in ES modules included;
 * 2. ts-node in transpile-only mode, CommonJS output: `.ts` and `.cts` (not
 *    `.mts`: ts-node's ES module loader needs a flag at process start);
 * 3. Node's own type stripping, where the Node version has it (22.6+, given
 *    `--experimental-strip-types` in the children; on by default from 23.6):
 *    types are erased, not compiled, so enums, namespaces and parameter
 *    properties are refused;
 * 4. else `SY_ERR_TS_NODE_MISSING`, naming what to install.
 *
 * `SWITCHYARD_TS_LOADER` (`tsx`, `ts-node`, `strip` or `none`) forces one of
 * them for user modules, so each path stays tested on an installation that has
 * them all. The entry modules of the children (only `.ts` when the master runs
 * from sources) always go through tsx or ts-node.
 *
 * Why tsx first: each child process that runs `.ts` code compiles it at
 * start. Loading the worker and service modules from sources took 1.9 s
 * (2.7 s of CPU) per process through ts-node and 0.23 s through tsx here,
 * and a cluster starts a process per worker and per service instance.
 */
import { SwitchyardError } from './errors';

export function isTypeScriptPath(file: string): boolean {
  return /\.(?:c|m)?tsx?$/.test(file) && !file.endsWith('.d.ts');
}

/** A way to run `.ts` code. */
export type TypeScriptLoader = 'tsx' | 'ts-node' | 'strip';

/** The variable that forces a loader for user modules: a loader's name, or `none` (as if none were installed). */
export const TS_LOADER_ENV = 'SWITCHYARD_TS_LOADER';

const FORCED: Readonly<Record<string, TypeScriptLoader | 'none'>> = { tsx: 'tsx', 'ts-node': 'ts-node', strip: 'strip', none: 'none' };

const STRIP_FLAG = '--experimental-strip-types';

function resolvable(request: string): string | undefined {
  try {
    return require.resolve(request);
  } catch {
    return undefined;
  }
}

/**
 * Node's own type stripping: `'on'` in this process, `'flag'` where this Node
 * has it behind `--experimental-strip-types` (22.6 to 23.5; the children can
 * be given the flag), `undefined` where it has none (Node 20).
 */
export function nodeTypeStripping(): 'on' | 'flag' | undefined {
  const typescript = (process.features as { readonly typescript?: unknown }).typescript;
  if (typescript === 'strip' || typescript === 'transform') return 'on';
  // 22.6 to 22.9 have the flag but not `process.features.typescript`.
  if ([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes(STRIP_FLAG)) return 'on';
  return process.allowedNodeEnvironmentFlags.has(STRIP_FLAG) ? 'flag' : undefined;
}

function forcedLoader(): TypeScriptLoader | 'none' | undefined {
  const given = process.env[TS_LOADER_ENV];
  if (given === undefined || given === '') return undefined;
  const forced = Object.hasOwn(FORCED, given) ? FORCED[given] : undefined;
  if (forced === undefined) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `${TS_LOADER_ENV} must be tsx, ts-node, strip or none, got "${given}"`);
  return forced;
}

function installed(loader: TypeScriptLoader): boolean {
  switch (loader) {
    case 'tsx':
      return resolvable('tsx/cjs') !== undefined;
    case 'ts-node':
      return resolvable('ts-node') !== undefined;
    case 'strip':
      return nodeTypeStripping() !== undefined;
    default: {
      const unreachable: never = loader;
      throw new Error(`unknown loader ${String(unreachable)}`);
    }
  }
}

/** The error for a `.ts` module that nothing here can run; `forced` when `SWITCHYARD_TS_LOADER` ruled the others out. */
export function noLoaderError(file: string, forced?: TypeScriptLoader | 'none'): SwitchyardError {
  const choice = forced === undefined ? '' : ` (${TS_LOADER_ENV}=${forced}${forced === 'none' ? '' : ', which is not available here'})`;
  const strip = nodeTypeStripping() === undefined ? `; or run Node 22.6+ (its type stripping; this is ${process.version})` : '';
  return new SwitchyardError('SY_ERR_TS_NODE_MISSING', `loading ${file} needs a TypeScript loader${choice}: npm install --save-dev tsx (or ts-node)${strip}`);
}

/** The loader user modules' `.ts` code goes through: the forced one, else tsx, ts-node or Node's type stripping, whichever is here first. */
export function typeScriptLoader(): TypeScriptLoader | undefined {
  const forced = forcedLoader();
  if (forced === 'none') return undefined;
  if (forced !== undefined) return installed(forced) ? forced : undefined;
  return (['tsx', 'ts-node', 'strip'] as const).find(installed);
}

/** `typeScriptLoader()`, or `undefined` where `SWITCHYARD_TS_LOADER` is invalid (the master forks anyway; the child that loads the module says what is wrong). */
function loaderOrUndefined(): TypeScriptLoader | undefined {
  try {
    return typeScriptLoader();
  } catch {
    return undefined;
  }
}

/** `typeScriptLoader()`, or the error naming `file` and what to install. */
export function requireTypeScriptLoader(file: string): TypeScriptLoader {
  const loader = typeScriptLoader();
  if (loader === undefined) throw noLoaderError(file, forcedLoader());
  return loader;
}

/** Environment for children that run `.ts` code through ts-node: fast, CommonJS output (tsx needs none). */
export const TS_NODE_ENV: Readonly<Record<string, string>> = {
  TS_NODE_TRANSPILE_ONLY: 'true',
  TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: 'commonjs' }),
};

/** The loader for a child's own entry module (the sources): tsx, else ts-node; type stripping cannot run these sources. */
function entryLoader(entry: string): 'tsx' | 'ts-node' {
  if (installed('tsx')) return 'tsx';
  if (installed('ts-node')) return 'ts-node';
  throw noLoaderError(entry);
}

/**
 * `execArgv` for a child whose entry module is `entry` and that loads
 * `modules`: the entry's loader when it is `.ts`, and Node's type-stripping
 * flag when a `.ts` user module needs it and this Node has it only behind one.
 */
export function execArgvFor(entry: string, modules: readonly string[] = []): string[] {
  const argv: string[] = [];
  if (isTypeScriptPath(entry)) {
    const loader = entryLoader(entry);
    argv.push(...(loader === 'tsx' ? ['--require', require.resolve('tsx/cjs')] : ['-r', require.resolve('ts-node/register/transpile-only')]));
  }
  if (modules.some(isTypeScriptPath) && loaderOrUndefined() === 'strip' && nodeTypeStripping() === 'flag') argv.push(STRIP_FLAG);
  return argv;
}

/** Extra environment for a child that runs `.ts` code (ts-node's settings when it is the entry's or the modules' loader). */
export function typeScriptEnv(entry = ''): Readonly<Record<string, string>> {
  const entryByTsNode = isTypeScriptPath(entry) && !installed('tsx') && installed('ts-node');
  return entryByTsNode || loaderOrUndefined() === 'ts-node' ? TS_NODE_ENV : {};
}

let requireHook: TypeScriptLoader | undefined;

/**
 * Makes `require()` of `.ts` files work in this process through `loader`
 * (tsx or ts-node; Node's type stripping needs nothing). Once per process.
 */
export function registerTypeScript(loader: TypeScriptLoader = requireTypeScriptLoader('a .ts module')): void {
  if (requireHook === loader || loader === 'strip') return;
  switch (loader) {
    case 'tsx': {
      // Already there when this process itself runs through tsx (a child from sources), or under jest.
      if (process.execArgv.some((arg) => arg.includes('tsx'))) break;
      const tsx = require('tsx/cjs/api') as { register(): unknown };
      tsx.register();
      break;
    }
    case 'ts-node': {
      const tsNode = require('ts-node') as { register(options: object): unknown };
      tsNode.register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
      break;
    }
    default: {
      const unreachable: never = loader;
      throw new Error(`unknown loader ${String(unreachable)}`);
    }
  }
  requireHook = loader;
}

/** tsx's ES module hooks (for `import()` of `.ts`, `.mts`), or where to import them from. */
export function tsxEsmEntry(): string {
  // `tsx/esm/api`'s register() resolves its hooks to a wrong path when called from CommonJS on Node 20; importing `tsx/esm` registers the same hooks.
  return require.resolve('tsx/esm');
}
