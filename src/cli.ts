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

function version(): string {
  return (require('../package.json') as { version: string }).version;
}

function fail(status: number, message: string): never {
  process.stderr.write(`switchyard: ${message}\n`);
  process.exit(status);
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
    server.reload().catch((error: unknown) => server.log.error({ err: error }, 'rolling reload failed'));
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
