/**
 * Parses the command line into a command and options. Flags override the
 * environment, which overrides the config file (options-origin.ts merges
 * them); the result goes through `resolveOptions()` with where each value
 * came from, so an error names the flag, variable or file to fix.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { findConfigFile, loadConfig } from './config-file';
import { SwitchyardError } from './errors';
import { DEFAULT_HOST, OPTION_SPECS, type SwitchyardOptions } from './options';
import { optionsFromEnvironment } from './options-env';
import { mergeLayers, type OptionLayer, type OptionOrigin, type OptionOrigins } from './options-origin';
import type { OptionName } from './options-spec';

// Defaults and choices in the help come from the option table, so the help cannot drift from what resolveOptions() does.
const { port, logLevel, balancing } = OPTION_SPECS;

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'bench'; readonly argv: readonly string[] }
  | {
      readonly command: 'start';
      readonly options: SwitchyardOptions;
      /** Where each option came from, for `resolveOptions(options, { origins })`. */
      readonly origins: OptionOrigins;
      /** Lines worth printing before starting (a `SWITCHYARD_*` variable that looks like a typo). */
      readonly warnings: readonly string[];
    };

export const HELP_TEXT = `Usage: switchyard <command> [flags]

Commands:
  start            start the server (the default when only flags are given)
  bench            load-test a running server (package @switchyard/bench; switchyard bench --help)
  help             show this text

Flags for start:
  --port <n>             port to listen on, 0 for any free port (default ${port.default})
  --host <address>       address to bind (default ${DEFAULT_HOST})
  --workers <n>          client-handling worker processes (default: number of CPUs)
  --service <name=path>  run the service exported by the module at <path> on /<name>;
                         repeat for more services (default: bundled echo and chat)
  --config <file>        JSON file with options; flags override it
  --log-level <level>    ${logLevel.values.slice(0, -1).join(', ')} or ${logLevel.values[logLevel.values.length - 1]} (default ${logLevel.default})
  --balancing <mode>     ${balancing.values[0]} (master hands out connections evenly) or ${balancing.values[1]}
                         (workers accept themselves: faster storms, uneven spread)
  -h, --help             show this text
  -v, --version          print the version

Examples:
  switchyard start --port 8080 --workers 4 --service chat=./services/chat.js
  switchyard start --config switchyard.json --log-level warn

Signals: SIGINT/SIGTERM stop gracefully (clients get close code 1001);
SIGHUP reloads: workers replaced one at a time (clients get 1012 and reconnect),
services restarted without losing messages.
Exit status: 0 after a clean stop, 1 when startup fails, 2 for bad flags or config.`;

/** Digits become a number; anything else stays the string it is, for the resolver to refuse by the flag's name. */
function integerFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function serviceFlags(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const services: Record<string, string> = {};
  for (const value of values) {
    const separator = value.indexOf('=');
    if (separator <= 0 || separator === value.length - 1) {
      throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--service takes name=path, got "${value}"`);
    }
    const name = value.slice(0, separator);
    if (name in services) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--service ${name} is given twice`);
    services[name] = value.slice(separator + 1);
  }
  return services;
}

/** The option each start flag sets, and the flag's name in errors. */
const FLAG_OPTIONS: Readonly<Record<string, OptionName>> = {
  '--port': 'port',
  '--host': 'host',
  '--workers': 'workers',
  '--service': 'services',
  '--log-level': 'logLevel',
  '--balancing': 'balancing',
};

function flagLayer(flags: Readonly<Record<string, unknown>>): OptionLayer {
  const options: Record<string, unknown> = {};
  const origins: Partial<Record<OptionName, OptionOrigin>> = {};
  for (const [flag, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const name = FLAG_OPTIONS[flag];
    options[name] = value;
    origins[name] = { from: 'flag', flag };
  }
  return { options, origins };
}

async function configLayer(file: string | undefined, cwd: string): Promise<OptionLayer> {
  if (file === undefined) return { options: {}, origins: {} };
  const options = (await loadConfig(file, cwd)) as Record<string, unknown>;
  const origin: OptionOrigin = { from: 'config', file: path.resolve(cwd, file) };
  return { options, origins: Object.fromEntries(Object.keys(options).map((key) => [key, origin])) };
}

/**
 * `argv` without the node and script paths. `env` supplies `PORT`, `HOST`,
 * `SWITCHYARD_<OPTION>` and `SWITCHYARD_CONFIG` (the config file when
 * `--config` is not given; without either, the first of `DEFAULT_CONFIG_NAMES`
 * in `cwd`). Async because a config module may be (or export) a promise.
 */
export async function parseCli(argv: readonly string[], cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): Promise<CliCommand> {
  // bench has flags of its own, parsed by its package (packages/bench/src/options.ts).
  if (argv[0] === 'bench') return { command: 'bench', argv: argv.slice(1) };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        workers: { type: 'string' },
        service: { type: 'string', multiple: true },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        balancing: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_INVALID_OPTION', (cause as Error).message, { cause });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { command: 'help' };
  if (values.version === true) return { command: 'version' };
  const [command = 'start', ...extra] = positionals;
  if (command === 'help') return { command: 'help' };
  if (command !== 'start') throw new SwitchyardError('SY_ERR_INVALID_OPTION', `unknown command "${command}"; try switchyard --help`);
  if (extra.length > 0) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `unexpected argument "${extra[0]}"`);

  const fromEnvironment = optionsFromEnvironment(env);
  const flags = flagLayer({
    '--port': integerFlag(values.port),
    '--host': values.host,
    '--workers': integerFlag(values.workers),
    '--service': serviceFlags(values.service),
    '--log-level': values['log-level'],
    '--balancing': values.balancing,
  });
  const configFile = values.config ?? (env.SWITCHYARD_CONFIG === undefined || env.SWITCHYARD_CONFIG === '' ? findConfigFile(cwd) : env.SWITCHYARD_CONFIG);
  // cwd first: the lowest layer, so that SWITCHYARD_CWD or a config file's cwd still wins.
  const merged = mergeLayers([{ options: { cwd }, origins: {} }, await configLayer(configFile, cwd), fromEnvironment, flags]);
  return { command: 'start', options: merged.options as SwitchyardOptions, origins: merged.origins, warnings: fromEnvironment.warnings };
}
