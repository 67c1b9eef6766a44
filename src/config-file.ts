/**
 * Reads a JSON config file into options. Relative paths in it (services,
 * `authenticate`, `http`, the `jwt` key files, the `tls` files) resolve
 * against the file's own folder, so a config works from any working directory.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SwitchyardError } from './errors';
import type { SwitchyardOptions } from './options';

/** A service's module path (either form) resolved against the config file's folder; anything else is left to `resolveOptions()` to refuse. */
function resolvedAgainst(folder: string, given: unknown): unknown {
  if (typeof given === 'string') return path.resolve(folder, given);
  if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
    const definition = given as Record<string, unknown>;
    if (typeof definition.module === 'string') return { ...definition, module: path.resolve(folder, definition.module) };
  }
  return given;
}

export function loadConfigFile(file: string, cwd: string = process.cwd()): SwitchyardOptions {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_CONFIG_FILE', `cannot read config file ${absolute}: ${(cause as Error).message}`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_CONFIG_FILE', `config file ${absolute} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SwitchyardError('SY_ERR_CONFIG_FILE', `config file ${absolute} must hold a JSON object`);
  }
  const options = { ...(value as Record<string, unknown>) } as Record<string, unknown>;
  const services = options.services;
  if (typeof services === 'object' && services !== null && !Array.isArray(services)) {
    const folder = path.dirname(absolute);
    options.services = Object.fromEntries(
      Object.entries(services).map(([name, given]) => [name, resolvedAgainst(folder, given)]),
    );
  }
  // The same for the worker modules and the JWT key files: paths in the file are relative to the file.
  const resolve = (value: unknown): unknown => (typeof value === 'string' && value.length > 0 ? path.resolve(path.dirname(absolute), value) : value);
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
