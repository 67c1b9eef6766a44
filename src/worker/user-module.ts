/**
 * Loads a user module a worker runs itself (the `authenticate` function, the
 * `http` app): ESM (top-level await included) or CommonJS through a real
 * `import()`, `.ts` through ts-node's `require` (the ESM loader does not know
 * `.ts`). A module that cannot be loaded fails the worker's start with
 * `SY_ERR_WORKER_MODULE_LOAD_FAILED` naming the option and the file.
 */
import { pathToFileURL } from 'node:url';
import { SwitchyardError } from '../errors';
import { isTypeScriptPath, registerTypeScript } from '../typescript-support';

/**
 * A real dynamic `import()`: this package compiles to CommonJS, where the
 * compiler turns `import()` into `require()`, which cannot load ESM on every
 * Node 20. Built once, from a constant string.
 */
export const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** The default export of `file` (a CommonJS module's `module.exports`, unwrapping a compiled `exports.default`). */
export async function loadDefaultExport(option: string, file: string): Promise<unknown> {
  let loaded: Record<string, unknown>;
  try {
    if (isTypeScriptPath(file)) {
      registerTypeScript();
      loaded = { default: require(file) as unknown };
    } else {
      loaded = await nativeImport(pathToFileURL(file).href);
    }
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_WORKER_MODULE_LOAD_FAILED', `options.${option}: cannot load ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  let exported = loaded.default;
  // CommonJS compiled from `export default` (TypeScript, Babel) sets `exports.default`.
  if (typeof exported === 'object' && exported !== null && 'default' in exported) exported = (exported as { default: unknown }).default;
  return exported;
}

/** The function `file` default-exports, or a load error naming what it exports instead. */
export async function loadFunction(option: string, file: string): Promise<(...args: never[]) => unknown> {
  const exported = await loadDefaultExport(option, file);
  if (typeof exported !== 'function') {
    throw new SwitchyardError('SY_ERR_WORKER_MODULE_LOAD_FAILED', `options.${option}: ${file} must default-export a function, got ${exported === null ? 'null' : typeof exported}`);
  }
  return exported as (...args: never[]) => unknown;
}
