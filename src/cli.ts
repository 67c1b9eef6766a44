#!/usr/bin/env node
/**
 * The `switchyard` command. Exit status: 0 after a clean stop, 1 when startup
 * fails (or `bench` when its package is not installed), 2 for bad flags,
 * config or options.
 */
import { runBenchCommand } from './bench-command';
import { parseCli } from './cli-args';
import { helpText, plural } from './cli-help';
import { isSwitchyardError } from './errors';
import { createServer, type SwitchyardServer } from './master/server';
import { resolveOptions } from './options';

function version(): string {
  return (require('../package.json') as { version: string }).version;
}

function fail(status: number, message: string): never {
  process.stderr.write(`switchyard: ${message}\n`);
  process.exit(status);
}

/**
 * The instance counts the command line, environment and config file ask for
 * now, read again at each SIGHUP (an edited config file may change them; the
 * rest of it takes a restart). Services the running server does not have are
 * left out; an unreadable config keeps every count, and says why.
 */
async function instanceCounts(server: SwitchyardServer): Promise<Record<string, number>> {
  const running = new Set(server.stats().services.map((service) => service.name));
  try {
    const command = await parseCli(process.argv.slice(2));
    if (command.command !== 'start') return {};
    const { shards } = resolveOptions(command.options, { origins: command.origins });
    return Object.fromEntries(Object.entries(shards).filter(([name]) => running.has(name)).map(([name, shard]) => [name, shard.instances]));
  } catch (error) {
    server.log.error({ err: error }, 'reload: cannot read the configuration again; instance counts stay');
    return {};
  }
}

async function main(): Promise<void> {
  let command;
  let server: SwitchyardServer;
  try {
    command = await parseCli(process.argv.slice(2));
    if (command.command === 'help') {
      process.stdout.write(`${helpText(command.topic)}\n`);
      return;
    }
    if (command.command === 'version') {
      process.stdout.write(`${version()}\n`);
      return;
    }
    if (command.command === 'bench') {
      // A package of its own, loaded only here: `start` never loads the load generator.
      process.exitCode = await runBenchCommand(command.argv);
      return;
    }
    for (const warning of command.warnings) process.stderr.write(`switchyard: ${warning}\n`);
    // Resolved here first so that a bad value is named by its flag, variable or file; createServer() resolves the same options again.
    resolveOptions(command.options, { origins: command.origins });
    server = createServer(command.options);
  } catch (error) {
    if (isSwitchyardError(error)) fail(2, error.message);
    throw error;
  }
  // SIGHUP reloads, SIGTERM/SIGINT stop and exit (0 when clean): the same handlers an embedder gets.
  server.handleSignals({ reloadOptions: async () => ({ instances: await instanceCounts(server) }) });
  // SIGUSR2 reads the TLS files again only (no process replaced, no client closed): the CLI's own, beside the common handlers.
  process.on('SIGUSR2', () => {
    if (server.state !== 'listening' || server.options.tls === false) return;
    server.reloadTls().catch((error: unknown) => server.log.error({ err: error }, 'TLS reload failed; the workers keep their certificate'));
  });
  server.once('ready', (info) => {
    const host = info.host === '0.0.0.0' || info.host === '::' ? 'localhost' : info.host;
    const routes = Object.entries(info.services).map(([name, route]) => `${route} → ${name}`).join(', ');
    process.stdout.write(
      `switchyard listening on ${info.tls ? 'https' : 'http'}://${host}:${info.port} (bound to ${info.host}) with ${plural(info.workers, 'worker')}; services: ${routes}${info.ops === null ? '' : `; ops endpoints on http://${info.ops.host}:${info.ops.port}`}\n`,
    );
  });
  try {
    await server.listen();
  } catch (error) {
    // The usual cause is another server on the port: say how to pick another.
    const hint = isSwitchyardError(error, 'SY_ERR_ADDRESS_IN_USE') ? '; is another server running there? choose another port with --port <n> (or PORT=<n>)' : '';
    fail(1, `${(error as Error).message}${hint}`);
  }
}

void main();
