/**
 * Parses the command line into a command and options. Flags override the
 * config file; both then go through `resolveOptions()`.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config-file';
import { SwitchyardError } from './errors';
import { DEFAULT_HOST, OPTION_SPECS, bundledServices, type Balancing, type LogLevel, type ServiceDefinition, type SwitchyardOptions } from './options';

// Defaults and choices in the help come from the option table, so the help cannot drift from what resolveOptions() does.
const { port, logLevel, balancing } = OPTION_SPECS;

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'bench'; readonly argv: readonly string[] }
  | { readonly command: 'start'; readonly options: SwitchyardOptions };

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
  --instances <name=n>   run service <name> as n processes, each client owned by one
                         (repeat per service; default 1; see docs/instances.md)
  --shard-by <name=key>  what places a client of <name> on an instance: client (default),
                         query:<param> or header:<header>; a client without it goes by its id
  --config <file>        JSON file with options; flags override it
  --log-level <level>    ${logLevel.values.slice(0, -1).join(', ')} or ${logLevel.values[logLevel.values.length - 1]} (default ${logLevel.default})
  --balancing <mode>     ${balancing.values[0]} (master hands out connections evenly) or ${balancing.values[1]}
                         (workers accept themselves: faster storms, uneven spread)
  --tls-cert <file>      serve https:// and wss:// with this PEM certificate (chain)
  --tls-key <file>       the certificate's PEM private key (with --tls-cert)
  --tls-ca <file>        extra PEM CA certificates (optional)
  --ops-port <n>         serve /healthz, /readyz and /metrics on this port only (not the public one)
  --ops-host <address>   address for --ops-port (default 127.0.0.1)
  -h, --help             show this text
  -v, --version          print the version

Examples:
  switchyard start --port 8080 --workers 4 --service chat=./services/chat.js
  switchyard start --config switchyard.json --log-level warn
  switchyard start --instances chat=2 --shard-by chat=query:room
  switchyard start --tls-cert cert.pem --tls-key key.pem

Signals: SIGINT/SIGTERM stop gracefully (clients get close code 1001);
SIGHUP reloads: workers replaced one at a time (clients get 1012 and reconnect),
services restarted without losing messages, TLS files read again;
SIGUSR2 reads the TLS files again only (no process replaced, no client closed).
Exit status: 0 after a clean stop, 1 when startup fails, 2 for bad flags or config.`;

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `--${name} must be a whole number, got "${value}"`);
  return Number(value);
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
 * file, or the bundled ones): each named service takes the object form with
 * that field. The values themselves are checked by `resolveOptions()`.
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
      definition[field] = field === 'instances' ? integerFlag(flag, value) : value;
      result[name] = definition;
    }
  };
  apply('instances', instances, 'instances');
  apply('shard-by', shardBy, 'shardBy');
  return result;
}

export function parseCli(argv: readonly string[], cwd: string = process.cwd()): CliCommand {
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
        instances: { type: 'string', multiple: true },
        'shard-by': { type: 'string', multiple: true },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        balancing: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'ops-port': { type: 'string' },
        'ops-host': { type: 'string' },
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

  const fromFile = values.config === undefined ? {} : loadConfigFile(values.config, cwd);
  const flags: Record<string, unknown> = {
    port: integerFlag('port', values.port),
    host: values.host,
    workers: integerFlag('workers', values.workers),
    services: serviceFlags(values.service),
    logLevel: values['log-level'] as LogLevel | undefined,
    balancing: values.balancing as Balancing | undefined,
    tls: tlsFlags(values, (fromFile as { tls?: unknown }).tls),
    opsPort: integerFlag('ops-port', values['ops-port']),
    opsHost: values['ops-host'],
  };
  const options: Record<string, unknown> = { ...fromFile, cwd };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) options[key] = value;
  const sharded = withSharding(options.services, pairFlags('instances', values.instances), pairFlags('shard-by', values['shard-by']));
  if (sharded !== undefined) options.services = sharded;
  return { command: 'start', options: options as SwitchyardOptions };
}
