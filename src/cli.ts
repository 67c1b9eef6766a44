#!/usr/bin/env node
/**
 * The `switchyard` command. Exit status: 0 after a clean stop, 1 when startup
 * fails (or `bench` when its package is not installed), 2 for bad flags,
 * config or options.
 */
import { runBenchCommand } from './bench-command';
import { parseCli, HELP_TEXT } from './cli-args';
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
 * The instance counts the command line and config file ask for now, read
 * again at each SIGHUP (an edited config file may change them; the rest of it
 * takes a restart). Services the running server does not have are left out;
 * an unreadable config keeps every count, and says why.
 */
function instanceCounts(server: SwitchyardServer): Record<string, number> {
  const running = new Set(server.stats().services.map((service) => service.name));
  try {
    const command = parseCli(process.argv.slice(2));
    if (command.command !== 'start') return {};
    const { shards } = resolveOptions(command.options);
    return Object.fromEntries(Object.entries(shards).filter(([name]) => running.has(name)).map(([name, shard]) => [name, shard.instances]));
  } catch (error) {
    server.log.error({ err: error }, 'reload: cannot read the configuration again; instance counts stay');
    return {};
  }
}

function installSignals(server: SwitchyardServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`switchyard: ${signal} again; exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => fail(1, `stop failed: ${(error as Error).message}`),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {
    if (stopping || server.state !== 'listening') return;
    server.reload({ instances: instanceCounts(server) }).catch((error: unknown) => server.log.error({ err: error }, 'rolling reload failed'));
  });
  process.on('SIGUSR2', () => {
    if (stopping || server.state !== 'listening' || server.options.tls === false) return;
    server.reloadTls().catch((error: unknown) => server.log.error({ err: error }, 'TLS reload failed; the workers keep their certificate'));
  });
}

async function main(): Promise<void> {
  let command;
  let server: SwitchyardServer;
  try {
    command = parseCli(process.argv.slice(2));
    if (command.command === 'help') {
      process.stdout.write(`${HELP_TEXT}\n`);
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
    server = createServer(command.options);
  } catch (error) {
    if (isSwitchyardError(error)) fail(2, error.message);
    throw error;
  }
  installSignals(server);
  server.once('ready', (info) => {
    const host = info.host === '0.0.0.0' || info.host === '::' ? 'localhost' : info.host;
    const routes = Object.entries(info.services).map(([name, route]) => `${route} → ${name}`).join(', ');
    process.stdout.write(`switchyard listening on ${info.tls ? 'https' : 'http'}://${host}:${info.port} (bound to ${info.host}) with ${info.workers} workers; services: ${routes}${info.ops === null ? '' : `; ops endpoints on http://${info.ops.host}:${info.ops.port}`}\n`);
  });
  try {
    await server.listen();
  } catch (error) {
    fail(1, (error as Error).message);
  }
}

void main();
