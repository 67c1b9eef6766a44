/**
 * The one loader of user modules: services (in their process), the
 * `authenticate` function and the `http` app (in every worker), a config
 * file (in the CLI). ES modules (`.mjs`, `.js` under `"type": "module"`, top-level
 * `await` included) and CommonJS load through a real `import()`; TypeScript
 * through the loader typescript-support.ts chooses (tsx by `require()` through
 * its CommonJS hook, and by `import()` through its ES module hooks what
 * `require()` refuses; Node's type stripping by `import()`; ts-node by
 * `require()`). Module paths may be given
 * as paths, `file:` URL strings or `URL` objects (`moduleFile()`, used by the
 * options resolver). The callers wrap a failure in their own error code,
 * naming the option and the file.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { requireTypeScriptLoader, isTypeScriptPath, registerTypeScript, tsxEsmEntry } from './typescript-support';
import { SwitchyardError } from './errors';

/**
 * A real dynamic `import()`: this package compiles to CommonJS, where the
 * compiler turns `import()` into `require()`, which cannot load an ES module
 * with top-level `await`. Built once, from a constant string.
 */
export const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** Whether `value` is a `URL`, checked by shape: one made in another realm (a test's VM) is no `instanceof URL` here. */
export function isUrlObject(value: unknown): value is URL {
  if (typeof value !== 'object' || value === null) return false;
  const { href, protocol } = value as { readonly href?: unknown; readonly protocol?: unknown };
  return typeof href === 'string' && typeof protocol === 'string';
}

/** The URL a module option gives: a `file:` string or a `URL` object. */
function urlHref(value: unknown): string | undefined {
  if (typeof value === 'string') return /^file:/i.test(value) ? value : undefined;
  return isUrlObject(value) ? value.href : undefined;
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

/** Loads so far with `fresh`: each makes a URL of its own, which the ES module cache has not seen. */
let freshLoads = 0;

async function importFile(file: string, fresh: boolean): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file);
  if (fresh) {
    url.search = `switchyard-load=${++freshLoads}`;
    // A CommonJS module imported by URL is still cached by its file name.
    Reflect.deleteProperty(require.cache, file);
  }
  try {
    return await nativeImport(url.href);
  } catch (error) {
    if (noDynamicImport(error)) return { default: requireFile(file, fresh) };
    throw error;
  }
}

function requireFile(file: string, fresh: boolean): unknown {
  // A CommonJS module imported by URL is still cached by its file name.
  if (fresh) Reflect.deleteProperty(require.cache, file);
  return require(file) as unknown;
}

let tsxEsm: Promise<unknown> | undefined;

/** Registers tsx's ES module hooks (for `import()` of `.mts` and of `.ts` ES modules with top-level `await`), once. */
function tsxEsmHooks(): Promise<unknown> {
  tsxEsm ??= nativeImport(pathToFileURL(tsxEsmEntry()).href).catch((error: unknown) => {
    if (!noDynamicImport(error)) throw error;
  });
  return tsxEsm;
}

/** What `require()` throws for a module only `import()` can load (an ES module, one with top-level `await`); thrown before any of it runs. */
function needsImport(error: unknown): boolean {
  const code = (error as { readonly code?: unknown } | null)?.code;
  return code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE';
}

/** The namespace of `file`: what `import()` gives, or `{ default: module.exports }` where `require()` loaded it. */
async function loadNamespace(file: string, fresh: boolean): Promise<Record<string, unknown>> {
  // Said as require() says it: import()'s own message would name this module as the importer.
  if (!existsSync(file)) throw Object.assign(new Error(`Cannot find module '${file}'`), { code: 'MODULE_NOT_FOUND' });
  if (!isTypeScriptPath(file)) return importFile(file, fresh);
  const loader = requireTypeScriptLoader(file);
  registerTypeScript(loader);
  switch (loader) {
    case 'ts-node':
      if (/\.mts$/.test(file)) {
        throw new SwitchyardError('SY_ERR_TS_NODE_MISSING', `loading ${file} (an ES module) needs tsx or Node's type stripping; ts-node loads .ts and .cts: npm install --save-dev tsx`);
      }
      return { default: requireFile(file, fresh) };
    case 'tsx':
      // require() first: tsx's ES module hooks run in a thread of their own, and
      // registering them cost about 300 ms per process here against 30 ms for a
      // require() through its CommonJS hook (Node 20). Only what require() refuses takes them.
      if (!/\.mts$/.test(file)) {
        try {
          return { default: requireFile(file, fresh) };
        } catch (error) {
          if (!needsImport(error)) throw error;
        }
      }
      await tsxEsmHooks();
      return importFile(file, fresh);
    case 'strip':
      return importFile(file, fresh);
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
 * With `fresh`, the file itself is evaluated again rather than taken from the
 * module caches (a config file read again at SIGHUP); what it imports is not.
 */
export async function loadDefaultExport(file: string, options: { readonly fresh?: boolean } = {}): Promise<unknown> {
  let loaded: Record<string, unknown>;
  try {
    loaded = await loadNamespace(file, options.fresh === true);
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
