/**
 * The checks every option resolver shares: the error a bad value throws
 * (named by its dotted path), integers, booleans and enums checked against
 * their row of `OPTION_SPECS`, and the small predicates (origin, file,
 * folder, string list).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SwitchyardError } from './errors';
import type { OptionName, OptionSpec } from './options-spec';

/**
 * A bad option, named by its dotted path; `resolveOptions()` renames it after
 * where the value came from (flag, environment, config file) before it
 * leaves, so every resolver just names the option.
 */
export class InvalidOptionError extends SwitchyardError {
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super('SY_ERR_INVALID_OPTION', `options.${option} ${problem}`);
  }
}

/** The error for a value that is not what `requirement` says, showing the value given. */
export function invalid(name: string, requirement: string, value: unknown): SwitchyardError {
  return new InvalidOptionError(name, `must be ${requirement}, got ${shownValue(value)}`);
}

/** A value as an error message shows it: JSON where it has one. */
export function shownValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An integer option from `min` to `max` (or `off`); `fallback` when not given. */
export function integer(name: string, value: unknown, fallback: number, min: number, max: number, off: 0 | undefined): number {
  if (value === undefined) return fallback;
  if (off !== undefined && value === off) return off;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `${off === undefined ? '' : `${off} (off) or `}an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A boolean option; `fallback` when not given. */
export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

/** A serialized origin (scheme://host[:port], no path): what browsers send and what is compared exactly. */
export function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

function oneOf<T extends string>(name: string, value: unknown, values: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!values.includes(value as T)) throw invalid(name, `one of ${values.join(', ')}`, value);
  return value as T;
}

/** An integer, boolean or enum option checked against its row of the table; custom ones are resolved by name (options.ts). */
export function fromSpec(name: OptionName, spec: OptionSpec, value: unknown): unknown {
  switch (spec.kind) {
    case 'integer':
      return integer(name, value, spec.default === 'cpus' ? availableParallelism() : spec.default, spec.min, spec.max, spec.off);
    case 'boolean':
      return boolean(name, value, spec.default);
    case 'enum':
      return oneOf(name, value, spec.values, spec.default);
    case 'custom':
      return undefined;
    default: {
      const unknownKind: never = spec;
      throw new Error(`option spec of unknown kind: ${JSON.stringify(unknownKind)}`);
    }
  }
}

/** Whether `file` exists and is a file. */
export function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Whether `folder` exists and is a folder. */
export function isFolder(folder: string): boolean {
  try {
    return statSync(folder).isDirectory();
  } catch {
    return false;
  }
}

/** A non-empty string, or a non-empty list of them. */
export function isStringOrList(value: unknown): value is string | readonly string[] {
  if (typeof value === 'string') return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0);
}

/** What a module option must be: a path, a `file:` URL string or a `URL` (moduleFile() in user-module.ts reads them all). */
export const MODULE_PATH = 'a module path';
