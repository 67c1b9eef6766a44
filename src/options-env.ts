/**
 * Options from the environment, the twelve-factor way: `PORT` and `HOST`
 * (what hosting platforms set), and `SWITCHYARD_<OPTION>` for every option
 * of the spec table, its name in upper snake case (`maxPayload` →
 * `SWITCHYARD_MAX_PAYLOAD`). Values are decoded from the table, never from a
 * hand-written list, so a new option gets its variable for free:
 *
 * - integer options: decimal digits (`SWITCHYARD_WORKERS=4`);
 * - boolean options: `true` or `false`;
 * - enum options: the value as is (`SWITCHYARD_LOG_LEVEL=warn`);
 * - other options, by their JSON Schema in the table: a value starting with
 *   `{` or `[` is JSON; `true`/`false` where the option takes a boolean;
 *   a string where it takes that string; a list as comma-separated items
 *   (`SWITCHYARD_ALLOWED_ORIGINS=https://a.example,https://b.example`); a
 *   map of strings as `name=value` pairs (`SWITCHYARD_SERVICES=chat=./chat.js,echo=./echo.js`).
 *
 * Anything that does not decode is passed on as the string it is, and
 * `resolveOptions()` says what it wanted, naming the variable. `SWITCHYARD_PORT`
 * and `SWITCHYARD_HOST` win over `PORT` and `HOST`.
 */
import { allowsBoolean, allowsString, allowsType, branchOfType, type JsonSchema } from './json-schema';
import { closest } from './did-you-mean';
import { SwitchyardError } from './errors';
import type { OptionLayer, OptionOrigin } from './options-origin';
import { OPTION_NAMES, OPTION_SPECS, type OptionName, type OptionSpec } from './options-spec';

/** The prefix of every Switchyard environment variable. */
export const ENV_PREFIX = 'SWITCHYARD_';

/**
 * Variables under the prefix that are not options: read by the CLI (the
 * config file), set by the master for its children, or read where `.ts`
 * modules load (the forced TypeScript loader). Never warned about.
 */
export const NON_OPTION_VARIABLES: readonly string[] = ['SWITCHYARD_CONFIG', 'SWITCHYARD_CHILD_CONFIG', 'SWITCHYARD_TS_LOADER'];

/** The platform conventions read besides the prefixed names. */
const PLATFORM_VARIABLES: Readonly<Partial<Record<OptionName, string>>> = { port: 'PORT', host: 'HOST' };

/** `maxPayload` → `SWITCHYARD_MAX_PAYLOAD`. */
export function environmentVariable(name: OptionName): string {
  return ENV_PREFIX + name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

/** What the environment holds: options with their origins, and `SWITCHYARD_*` names that are no option but look like a typo of one. */
export interface EnvironmentOptions extends OptionLayer {
  readonly warnings: readonly string[];
}

/** Reads every option set in `env` (`process.env` by default). Throws `SY_ERR_INVALID_OPTION` for a value that is not valid JSON where JSON was given. */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentOptions {
  const options: Record<string, unknown> = {};
  const origins: Partial<Record<OptionName, OptionOrigin>> = {};
  const variables = new Set<string>(NON_OPTION_VARIABLES);
  for (const name of OPTION_NAMES) {
    const prefixed = environmentVariable(name);
    variables.add(prefixed);
    const platform = PLATFORM_VARIABLES[name];
    const variable = env[prefixed] !== undefined ? prefixed : platform !== undefined && env[platform] !== undefined ? platform : undefined;
    if (variable === undefined) continue;
    options[name] = decode(variable, env[variable] as string, OPTION_SPECS[name]);
    origins[name] = { from: 'environment', variable };
  }
  const known = [...variables];
  const warnings: string[] = [];
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith(ENV_PREFIX) || variables.has(variable)) continue;
    // Only a near miss is worth a line: other SWITCHYARD_* variables may belong to the application.
    const guess = closest(variable, known);
    if (guess !== undefined) warnings.push(`${variable} is not a Switchyard option (did you mean ${guess}?); ignored`);
  }
  return { options, origins, warnings };
}

/** One variable's value as the option's kind reads it. */
export function decode(variable: string, raw: string, spec: OptionSpec): unknown {
  switch (spec.kind) {
    case 'integer':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'enum':
      return raw;
    case 'custom':
      return decodeBySchema(variable, raw, spec.schema ?? {});
    default: {
      const unknownKind: never = spec;
      throw new Error(`option spec of unknown kind: ${JSON.stringify(unknownKind)}`);
    }
  }
}

function decodeBySchema(variable: string, raw: string, schema: JsonSchema): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch (cause) {
      throw new SwitchyardError('SY_ERR_INVALID_OPTION', `${variable} (environment) must be valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  if ((raw === 'true' || raw === 'false') && allowsBoolean(schema, raw === 'true')) return raw === 'true';
  // A number where the option takes one (`opsPort`: an integer or false).
  if (/^-?\d+$/.test(trimmed) && branchOfType(schema, 'integer') !== undefined) return Number(trimmed);
  if (allowsString(schema, raw)) return raw;
  if (allowsType(schema, 'array')) return listItems(raw);
  const map = branchOfType(schema, 'object');
  if (map !== undefined && typeof map.additionalProperties === 'object' && allowsType(map.additionalProperties, 'string')) return pairs(raw);
  return raw;
}

/** `a, b,,c` → `['a', 'b', 'c']`: items trimmed, empty ones dropped (a trailing comma is no item). */
function listItems(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `chat=./chat.js,echo=./echo.js` → `{ chat: './chat.js', echo: './echo.js' }`; a pair without `=` is kept whole as a key with an empty value, which the resolver refuses by name. */
function pairs(raw: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of listItems(raw)) {
    const separator = item.indexOf('=');
    if (separator === -1) map[item] = '';
    else map[item.slice(0, separator).trim()] = item.slice(separator + 1).trim();
  }
  return map;
}
