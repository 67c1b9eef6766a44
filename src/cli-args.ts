/**
 * Parses the command line into a command and options. Flags override the
 * environment, which overrides the config file (options-origin.ts merges
 * them); the result goes through `resolveOptions()` with where each value
 * came from, so an error names the flag, variable or file to fix.
 */
import { parseArgs } from 'node:util';
import { findConfigFile, loadConfig } from './config-file';
import { moduleFile } from './user-module';
import { SwitchyardError } from './errors';
import { closest } from './did-you-mean';
import { bundledServices, type ServiceDefinition, type SwitchyardOptions } from './options';
import { optionsFromEnvironment } from './options-env';
import { splitServerList } from './nats/cluster-options';
import { mergeLayers, type OptionLayer, type OptionOrigin, type OptionOrigins } from './options-origin';
import type { OptionName } from './options-spec';

export { GENERAL_HELP, START_HELP, type HelpTopic } from './cli-help';
import type { HelpTopic } from './cli-help';

export type CliCommand =
  | { readonly command: 'help'; readonly topic: HelpTopic }
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

/** Digits become a number; anything else stays the string it is, for the resolver to refuse by the flag's name. */
function integerFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** `--tls-*` over the config file's `tls`: the flags replace the fields they name. */
function tlsFlags(values: { readonly 'tls-cert'?: string; readonly 'tls-key'?: string; readonly 'tls-ca'?: string }, fromFile: unknown): unknown {
  const { 'tls-cert': cert, 'tls-key': key, 'tls-ca': ca } = values;
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  const base = typeof fromFile === 'object' && fromFile !== null ? (fromFile as Record<string, unknown>) : {};
  const tls = { ...base, ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(ca === undefined ? {} : { ca }) };
  if (tls.cert === undefined || tls.key === undefined) throw new SwitchyardError('SY_ERR_INVALID_OPTION', '--tls-cert and --tls-key go together (or with the config file\'s tls)');
  return tls;
}

/**
 * `--node`, `--nats` (repeatable, each possibly a comma list) and
 * `--cluster-name` over the environment's or the config file's `cluster`:
 * the flags replace the fields they name, so every node can run one config
 * file and be told only its own name.
 */
function clusterFlags(values: { readonly node?: string; readonly nats?: readonly string[]; readonly 'cluster-name'?: string }, fromLower: unknown): unknown {
  const { node, nats, 'cluster-name': name } = values;
  const servers = nats === undefined || nats.length === 0 ? undefined : splitServerList(nats);
  if (node === undefined && servers === undefined && name === undefined) return undefined;
  const base = typeof fromLower === 'object' && fromLower !== null ? (fromLower as Record<string, unknown>) : {};
  const cluster = { ...base, ...(node === undefined ? {} : { node }), ...(servers === undefined ? {} : { nats: servers }), ...(name === undefined ? {} : { name }) };
  if (cluster.node === undefined || cluster.nats === undefined) {
    throw new SwitchyardError('SY_ERR_INVALID_OPTION', '--node and --nats go together (or with the config file\'s cluster)');
  }
  return cluster;
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

const COMMANDS: readonly string[] = ['start', 'bench', 'help'];

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  workers: { type: 'string' },
  service: { type: 'string', multiple: true },
  instances: { type: 'string', multiple: true },
  'shard-by': { type: 'string', multiple: true },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'ops-port': { type: 'string' },
  'ops-host': { type: 'string' },
  node: { type: 'string' },
  nats: { type: 'string', multiple: true },
  'cluster-name': { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'log-pretty': { type: 'boolean' },
  'access-log': { type: 'string' },
  balancing: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** parseArgs' message, or for an unknown flag one line with the nearest known flag. */
function flagError(error: Error): string {
  if ((error as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return error.message;
  const flag = /'(-[^']*)'/.exec(error.message)?.[1] ?? '';
  const known = Object.keys(FLAGS).map((name) => `--${name}`);
  const guess = flag.startsWith('--') ? closest(flag, known) : undefined;
  return `unknown flag ${flag}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; switchyard start --help lists the flags`;
}

/** `name=value` pairs of a repeatable flag, by name. */
function pairFlags(flag: string, values: readonly string[] | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const value of values ?? []) {
    const separator = value.indexOf('=');
    if (separator <= 0 || separator === value.length - 1) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--${flag} takes name=value, got "${value}"`);
    const name = value.slice(0, separator);
    if (pairs.has(name)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--${flag} ${name} is given twice`);
    pairs.set(name, value.slice(separator + 1));
  }
  return pairs;
}

/**
 * Applies `--instances` and `--shard-by` to the services (from the flags, the
 * environment, the file, or the bundled ones): each named service takes the
 * object form with that field. The values themselves are checked by
 * `resolveOptions()`.
 */
function withSharding(services: unknown, instances: Map<string, string>, shardBy: Map<string, string>): unknown {
  if (instances.size === 0 && shardBy.size === 0) return services;
  const base = (typeof services === 'object' && services !== null && !Array.isArray(services) ? services : bundledServices()) as Record<string, unknown>;
  const result: Record<string, unknown> = { ...base };
  const apply = (flag: string, pairs: Map<string, string>, field: 'instances' | 'shardBy'): void => {
    for (const [name, value] of pairs) {
      const given = result[name];
      if (given === undefined) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--${flag} ${name}: there is no service named "${name}"`);
      const definition: Record<string, unknown> = typeof given === 'string' ? { module: given } : { ...(given as ServiceDefinition) };
      definition[field] = field === 'instances' ? integerFlag(value) : value;
      result[name] = definition;
    }
  };
  apply('instances', instances, 'instances');
  apply('shard-by', shardBy, 'shardBy');
  return result;
}

/** The option each start flag sets, and the flag's name in errors. */
const FLAG_OPTIONS: Readonly<Record<string, OptionName>> = {
  '--port': 'port',
  '--host': 'host',
  '--workers': 'workers',
  '--service': 'services',
  '--log-level': 'logLevel',
  '--log-pretty': 'logPretty',
  '--access-log': 'accessLog',
  '--tls-cert': 'tls',
  '--ops-port': 'opsPort',
  '--ops-host': 'opsHost',
  '--balancing': 'balancing',
  '--node': 'cluster',
};

/** The flags that fill an object option field by field (tlsFlags, clusterFlags): each field's flag, for errors. */
const FIELD_FLAGS: Readonly<Partial<Record<string, Readonly<Record<string, string>>>>> = {
  '--tls-cert': { cert: '--tls-cert', key: '--tls-key', ca: '--tls-ca' },
  '--node': { node: '--node', nats: '--nats', name: '--cluster-name' },
};

/**
 * The flags' layer over `lower`. An object option filled by several flags
 * (`FIELD_FLAGS`) names, in errors, the flag of each field the flags gave and
 * `lower`'s origin for the rest.
 */
function flagLayer(flags: Readonly<Record<string, unknown>>, given: Readonly<Record<string, unknown>>, lower: OptionLayer): OptionLayer {
  const options: Record<string, unknown> = {};
  const origins: Partial<Record<OptionName, OptionOrigin>> = {};
  for (const [flag, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const name = FLAG_OPTIONS[flag];
    options[name] = value;
    const fieldFlags = FIELD_FLAGS[flag];
    if (fieldFlags === undefined) {
      origins[name] = { from: 'flag', flag };
      continue;
    }
    const fields = Object.fromEntries(Object.entries(fieldFlags).filter(([, fieldFlag]) => given[fieldFlag.slice(2)] !== undefined));
    const below = lower.origins[name];
    origins[name] = { from: 'flag', flag, fields, ...(below === undefined ? {} : { below }) };
  }
  return { options, origins };
}

async function configLayer(file: string | undefined, cwd: string): Promise<OptionLayer> {
  if (file === undefined) return { options: {}, origins: {} };
  const options = (await loadConfig(file, cwd)) as Record<string, unknown>;
  const origin: OptionOrigin = { from: 'config', file: moduleFile(file, cwd) ?? file };
  return { options, origins: Object.fromEntries(Object.keys(options).map((key) => [key, origin])) };
}

function unknownCommand(command: string): SwitchyardError {
  const guess = closest(command, COMMANDS);
  return new SwitchyardError('SY_ERR_INVALID_OPTION', `unknown command "${command}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}; try switchyard --help`);
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
  if (argv[0] === 'help' && argv[1] === 'bench') return { command: 'bench', argv: ['--help'] };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: FLAGS });
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_INVALID_OPTION', flagError(cause as Error), { cause });
  }
  const { values, positionals } = parsed;
  const [command = 'start', ...extra] = positionals;
  // Help about a command that does not exist is the unknown-command error, not start's flags.
  const topic = command === 'help' ? extra[0] : positionals.length > 0 ? command : undefined;
  if (topic !== undefined && topic !== 'start') throw unknownCommand(topic);
  if (command === 'help') return { command: 'help', topic: topic === 'start' ? 'start' : 'general' };
  if (values.help === true) return { command: 'help', topic: positionals.length > 0 ? 'start' : 'general' };
  if (values.version === true) return { command: 'version' };
  if (command !== 'start') throw unknownCommand(command);
  if (extra.length > 0) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `unexpected argument "${extra[0]}"`);

  const fromEnvironment = optionsFromEnvironment(env);
  const configFile = values.config ?? (env.SWITCHYARD_CONFIG === undefined || env.SWITCHYARD_CONFIG === '' ? findConfigFile(cwd) : env.SWITCHYARD_CONFIG);
  // cwd first: the lowest layer, so that SWITCHYARD_CWD or a config file's cwd still wins.
  const lower = mergeLayers([{ options: { cwd }, origins: {} }, await configLayer(configFile, cwd), fromEnvironment]);
  const flags = flagLayer({
    '--port': integerFlag(values.port),
    '--host': values.host,
    '--workers': integerFlag(values.workers),
    '--service': serviceFlags(values.service),
    '--log-level': values['log-level'],
    '--log-pretty': values['log-pretty'],
    '--access-log': values['access-log'],
    '--balancing': values.balancing,
    // The TLS flags complete the environment's or the config file's tls (a renewed certificate path over the file's key, say).
    '--tls-cert': tlsFlags(values, lower.options.tls),
    '--ops-port': integerFlag(values['ops-port']),
    '--ops-host': values['ops-host'],
    '--node': clusterFlags(values, lower.options.cluster),
  }, values, lower);
  const merged = mergeLayers([lower, flags]);
  const options: Record<string, unknown> = { ...merged.options };
  const sharded = withSharding(options.services, pairFlags('instances', values.instances), pairFlags('shard-by', values['shard-by']));
  if (sharded !== undefined) options.services = sharded;
  return { command: 'start', options: options as SwitchyardOptions, origins: merged.origins, warnings: fromEnvironment.warnings };
}
