/**
 * The CLI's help texts: an overview (`switchyard --help`) and one per
 * command (`switchyard start --help`; `switchyard bench --help` is the bench
 * package's). Defaults and choices come from the option table, so the help
 * cannot drift from what `resolveOptions()` does.
 */
import { OPTION_SPECS } from './options-spec';

export type HelpTopic = 'general' | 'start';

const { port, host, logLevel, balancing } = OPTION_SPECS;

export const GENERAL_HELP = `Usage: switchyard <command> [flags]

Commands:
  start            start the server (the default when only flags are given)
  bench            load-test a running server (package @switchyard/bench)
  help [command]   show this text, or a command's flags

Flags:
  -h, --help       show the help (after a command: that command's flags)
  -v, --version    print the version

switchyard start --help and switchyard bench --help list each command's flags.
Exit status: 0 after a clean stop, 1 when startup fails, 2 for bad flags or config.`;

export const START_HELP = `Usage: switchyard start [flags]

Flags:
  --port <n>             port to listen on, 0 for any free port (default ${port.default})
  --host <address>       address to bind (default ${host.default})
  --workers <n>          client-handling worker processes (default: number of CPUs)
  --service <name=path>  run the service exported by the module at <path> on /<name>;
                         repeat for more services (default: bundled echo and chat)
  --instances <name=n>   run service <name> as n processes, each client owned by one
                         (repeat per service; default 1; see docs/instances.md)
  --shard-by <name=key>  what places a client of <name> on an instance: client (default),
                         query:<param> or header:<header>; a client without it goes by its id
  --config <file>        config file: JSON, or a .js/.mjs/.cjs/.ts module (default:
                         switchyard.config.* or switchyard.json in the working directory)
  --log-level <level>    ${logLevel.values.slice(0, -1).join(', ')} or ${logLevel.values[logLevel.values.length - 1]} (default ${logLevel.default})
  --log-pretty           readable log lines through pino-pretty (install it: a dev dependency)
  --access-log <level>   one line per HTTP request at debug (default) or info, or off
  --balancing <mode>     round-robin (master hands out connections evenly), kernel (workers
                         accept from one socket: faster storms, uneven spread), kernel-fair
                         (kernel, one accept per wakeup: even spread), reuse-port (a
                         socket per worker, spread by the kernel: Node 22.12+) or auto: reuse-port
                         where Node has it and net.ipv4.tcp_migrate_req=1, else kernel-fair
                         (default ${balancing.default})
  --tls-cert <file>      serve https:// and wss:// with this PEM certificate (chain)
  --tls-key <file>       the certificate's PEM private key (with --tls-cert)
  --tls-ca <file>        extra PEM CA certificates (optional)
  --ops-port <n>         serve /healthz, /readyz and /metrics on this port only (not the public one)
  --ops-host <address>   address for --ops-port (default 127.0.0.1)
  --node <name>          this node's name in a cluster joined through NATS (with --nats;
                         services placed with node/nodes in the config; see docs/nats.md)
  --nats <url>           NATS server(s) of the cluster: repeat, or a comma list
  --cluster-name <name>  prefix of every NATS subject (default switchyard)
  -h, --help             show this text

Environment: PORT, HOST, and SWITCHYARD_<OPTION> for every option
(SWITCHYARD_WORKERS=4, SWITCHYARD_ALLOWED_ORIGINS=https://a.example,https://b.example);
SWITCHYARD_CONFIG names the config file. Flags override the environment, which
overrides the config file. See docs/configuration.md and docs/options.md.

Examples:
  switchyard start --port 8080 --workers 4 --service chat=./services/chat.js
  PORT=9000 switchyard start --config switchyard.json --log-level warn
  switchyard start --instances chat=2 --shard-by chat=query:room
  switchyard start --tls-cert cert.pem --tls-key key.pem

Signals: SIGINT/SIGTERM stop gracefully (clients get close code 1001);
SIGHUP reloads: workers replaced one at a time (clients get 1012 and reconnect),
services restarted without losing messages, TLS files read again;
SIGUSR2 reads the TLS files again only (no process replaced, no client closed).
Exit status: 0 after a clean stop, 1 when startup fails, 2 for bad flags or config.`;

/** The text for `topic`. */
export function helpText(topic: HelpTopic): string {
  switch (topic) {
    case 'general':
      return GENERAL_HELP;
    case 'start':
      return START_HELP;
    default: {
      const unknownTopic: never = topic;
      throw new Error(`unknown help topic ${String(unknownTopic)}`);
    }
  }
}

/** `1 worker`, `2 workers`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
