/**
 * Reads a config file into options: JSON (`switchyard.json`), or a module
 * (`switchyard.config.js`, `.cjs`, `.mjs`, `.ts`, `.mts`, `.cts`) whose
 * default export is the options, a promise of them, or a function (possibly
 * async) that returns them, so a config can read secrets and compute values.
 * Relative paths in it (services, `authenticate`, `http`, the `jwt` key
 * files, the `tls` files) resolve against the file's own folder, so a config works from any
 * working directory. A `$schema` key (editors use it to find
 * schema/switchyard.schema.json) is allowed and ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SwitchyardError } from './errors';
import type { SwitchyardOptions } from './options';
import { loadDefaultExport, moduleFile } from './user-module';

/** A service's module path (either form; a path or a `file:` URL) resolved against the config file's folder; anything else is left to `resolveOptions()` to refuse. */
function resolvedAgainst(folder: string, given: unknown): unknown {
  if (typeof given === 'string') return moduleFile(given, folder) ?? given;
  if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
    const definition = given as Record<string, unknown>;
    if (typeof definition.module === 'string') return { ...definition, module: moduleFile(definition.module, folder) ?? definition.module };
  }
  return given;
}

/** What a config module may export by default. */
export type ConfigExport = SwitchyardOptions | Promise<SwitchyardOptions> | (() => SwitchyardOptions | Promise<SwitchyardOptions>);

/**
 * Gives a config module its type: `export default defineConfig({ workers: 4 })`,
 * or with a function, `defineConfig(async () => ({ … }))`. Returns its argument.
 */
export function defineConfig<T extends ConfigExport>(config: T): T {
  return config;
}

/** The names looked for in the working directory when neither `--config` nor `SWITCHYARD_CONFIG` names a file, in this order. */
export const DEFAULT_CONFIG_NAMES: readonly string[] = [
  'switchyard.config.ts',
  'switchyard.config.mts',
  'switchyard.config.cts',
  'switchyard.config.js',
  'switchyard.config.mjs',
  'switchyard.config.cjs',
  'switchyard.json',
];

/** The first default config file in `cwd`, if any. */
export function findConfigFile(cwd: string): string | undefined {
  return DEFAULT_CONFIG_NAMES.map((name) => path.join(cwd, name)).find((file) => existsSync(file));
}

function configError(message: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('SY_ERR_CONFIG_FILE', message, cause === undefined ? undefined : { cause });
}

/** The config file's absolute path: `file` a path (against `cwd`), a `file:` URL string or a `URL`. */
function configPath(file: string | URL, cwd: string): string {
  const absolute = moduleFile(file, cwd);
  if (absolute === undefined) throw configError(`the config file must be a path or a file: URL, got ${JSON.stringify(String(file))}`);
  return absolute;
}

/** Reads a JSON config file (synchronously). */
export function loadConfigFile(file: string | URL, cwd: string = process.cwd()): SwitchyardOptions {
  const absolute = configPath(file, cwd);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (cause) {
    throw configError(`cannot read config file ${absolute}: ${(cause as Error).message}`, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw configError(`config file ${absolute} is not valid JSON: ${(cause as Error).message}`, cause);
  }
  return asOptions(value, absolute, 'hold a JSON object');
}

/** Reads any config file: JSON, or a JavaScript or TypeScript module. */
export async function loadConfig(file: string | URL, cwd: string = process.cwd()): Promise<SwitchyardOptions> {
  const absolute = configPath(file, cwd);
  if (path.extname(absolute) === '.json') return loadConfigFile(absolute);
  if (!/\.(?:[cm]?js|[cm]?ts)$/.test(absolute)) throw configError(`config file ${absolute} must be .json, .js, .cjs, .mjs, .ts, .mts or .cts`);
  if (!existsSync(absolute)) throw configError(`cannot read config file ${absolute}: it does not exist`);
  let exported: unknown;
  try {
    // Fresh: the CLI reads the file again at each SIGHUP, and an edit must show.
    exported = await loadDefaultExport(absolute, { fresh: true });
    if (typeof exported === 'function') exported = (exported as () => unknown)();
    exported = await exported;
  } catch (cause) {
    if (cause instanceof SwitchyardError) throw cause;
    throw configError(`config file ${absolute} failed to load: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  return asOptions(exported, absolute, 'export an object by default (or a function returning one)');
}

function asOptions(value: unknown, absolute: string, requirement: string): SwitchyardOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(`config file ${absolute} must ${requirement}`);
  const options = { ...(value as Record<string, unknown>) };
  delete options.$schema;
  const services = options.services;
  if (typeof services === 'object' && services !== null && !Array.isArray(services)) {
    const folder = path.dirname(absolute);
    options.services = Object.fromEntries(
      Object.entries(services).map(([name, given]) => [name, resolvedAgainst(folder, given)]),
    );
  }
  // The same for the worker modules and the JWT key files: paths in the file are relative to the file.
  const resolve = (value: unknown): unknown => (typeof value === 'string' && value.length > 0 ? (moduleFile(value, path.dirname(absolute)) ?? value) : value);
  for (const key of ['authenticate', 'http'] as const) if (options[key] !== undefined) options[key] = resolve(options[key]);
  const jwt = options.jwt;
  if (typeof jwt === 'object' && jwt !== null && !Array.isArray(jwt)) {
    const files: Record<string, unknown> = { ...(jwt as Record<string, unknown>) };
    for (const key of ['publicKey', 'jwksFile']) if (files[key] !== undefined) files[key] = resolve(files[key]);
    options.jwt = files;
  }
  // Like service paths, the TLS files are named relative to the config file.
  const tls = options.tls;
  if (typeof tls === 'object' && tls !== null && !Array.isArray(tls)) {
    options.tls = Object.fromEntries(
      Object.entries(tls).map(([name, value]) => [name, name !== 'passphrase' && typeof value === 'string' ? resolve(value) : value]),
    );
  }
  return options as SwitchyardOptions;
}
