/**
 * The one loader of user modules: services (in their process), the
 * `authenticate` function and the `http` app (in every worker), a config
 * file (in the CLI). ES modules (`.mjs`, `.js` under `"type": "module"`, top-level
 * `await` included) and CommonJS load through a real `import()`; TypeScript
 * through the loader typescript-support.ts chooses (tsx and Node's type
 * stripping by `import()`, ts-node by `require()`). Module paths may be given
 * as paths, `file:` URL strings or `URL` objects (`moduleFile()`, used by the
 * options resolver). The callers wrap a failure in their own error code,
 * naming the option and the file.
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { requireTypeScriptLoader, isTypeScriptPath, registerTypeScript, tsxEsmEntry, type TypeScriptLoader } from './typescript-support';
import { SwitchyardError } from './errors';

/**
 * A real dynamic `import()`: this package compiles to CommonJS, where the
 * compiler turns `import()` into `require()`, which cannot load an ES module
 * with top-level `await`. Built once, from a constant string.
 */
export const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** A string or a `URL` (checked by shape: a `URL` made in another realm, a test's VM, is no `instanceof URL` here). */
function urlHref(value: unknown): string | undefined {
  if (typeof value === 'string') return /^file:/i.test(value) ? value : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const { href, protocol } = value as { readonly href?: unknown; readonly protocol?: unknown };
  return typeof href === 'string' && typeof protocol === 'string' ? href : undefined;
}

/**
 * The absolute file a module option names: a path (resolved against `cwd`),
 * a `file:` URL string or a `URL` object. `undefined` for anything else (an
 * empty string, another URL scheme as a `URL` or as `scheme://…`, a number),
 * for the caller to refuse with its dotted name.
 */
export function moduleFile(value: unknown, cwd: string): string | undefined {
  const href = urlHref(value);
  if (href !== undefined) {
    if (!href.toLowerCase().startsWith('file:')) return undefined;
    try {
      return fileURLToPath(href);
    } catch {
      return undefined;
    }
  }
  // `https://…` and the like: a URL this loader cannot fetch, not a relative path.
  if (typeof value !== 'string' || value.length === 0 || /^[a-z][a-z0-9+.-]+:\/\//i.test(value)) return undefined;
  return path.resolve(cwd, value);
}

/** What a host without dynamic `import()` answers it (jest's module VM): there, `require()` is the way in. */
function noDynamicImport(error: unknown): boolean {
  const code = (error as { readonly code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING');
}

async function importFile(file: string): Promise<Record<string, unknown>> {
  try {
    return await nativeImport(pathToFileURL(file).href);
  } catch (error) {
    if (noDynamicImport(error)) return { default: require(file) as unknown };
    throw error;
  }
}

let tsxEsm: Promise<unknown> | undefined;

/** Registers the hooks `loader` needs for `import()` (tsx's ES module hooks; its CommonJS ones for the `.ts` files that turn out to be CommonJS). */
async function prepare(loader: TypeScriptLoader): Promise<void> {
  registerTypeScript(loader);
  if (loader !== 'tsx') return;
  tsxEsm ??= nativeImport(pathToFileURL(tsxEsmEntry()).href).catch((error: unknown) => {
    if (!noDynamicImport(error)) throw error;
  });
  await tsxEsm;
}

/** The namespace of `file`: what `import()` gives, or `{ default: module.exports }` where `require()` loaded it. */
async function loadNamespace(file: string): Promise<Record<string, unknown>> {
  if (!isTypeScriptPath(file)) return importFile(file);
  const loader = requireTypeScriptLoader(file);
  await prepare(loader);
  switch (loader) {
    case 'ts-node':
      if (/\.mts$/.test(file)) {
        throw new SwitchyardError('SY_ERR_TS_NODE_MISSING', `loading ${file} (an ES module) needs tsx or Node's type stripping; ts-node loads .ts and .cts: npm install --save-dev tsx`);
      }
      return { default: require(file) as unknown };
    case 'tsx':
    case 'strip':
      return importFile(file);
    default: {
      const unreachable: never = loader;
      throw new Error(`unknown loader ${String(unreachable)}`);
    }
  }
}

/** Node's type stripping refuses what it would have to compile: says so, with the alternative. */
function explained(error: unknown): unknown {
  const code = (error as { readonly code?: unknown } | null)?.code;
  if (code !== 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' || !(error instanceof Error)) return error;
  const message = `${error.message.split('\n')[0]} (Node's type stripping erases types but does not compile enums, namespaces or parameter properties: rewrite them, or npm install --save-dev tsx)`;
  return Object.assign(new Error(message, { cause: error }), { code });
}

/**
 * The default export of `file`: an ES module's `default`, a CommonJS
 * module's `module.exports`, unwrapping `exports.default` as compiled from
 * `export default` (TypeScript, Babel). Rejects with what the loading threw
 * (a `SY_ERR_TS_NODE_MISSING` error where no loader can run a `.ts` file).
 */
export async function loadDefaultExport(file: string): Promise<unknown> {
  let loaded: Record<string, unknown>;
  try {
    loaded = await loadNamespace(file);
  } catch (error) {
    throw explained(error);
  }
  let exported = loaded.default;
  if (typeof exported === 'object' && exported !== null && 'default' in exported) exported = (exported as { default: unknown }).default;
  return exported;
}

/**
 * The first line of what a load threw: Node's "Require stack" list and the
 * like belong to the stack, logged at debug. `import()` adds "imported from"
 * this module to a missing file's message: our file, not the user's, so it goes.
 */
export function loadFailure(cause: unknown): string {
  const first = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0] ?? '';
  const ours = ` imported from ${__filename}`;
  return first.endsWith(ours) ? first.slice(0, -ours.length) : first;
}
