/**
 * Entry point of a worker process, forked by the master through node:cluster.
 * Exits when the master goes away (node:cluster does that for workers when the
 * IPC channel closes) or once a `stop` from the master has been carried out.
 */
import cluster from 'node:cluster';
import { readChildConfig } from '../child-env';
import { toErrorInfo } from '../errors';
import type { IpcEndpoint } from '../ipc/batch-queue';
import { captureConsole, createLogger } from '../logger';
import type { WorkerToMaster } from '../protocol';
import { installWorkerServices } from '../worker-api';
import { loadWorkerModules } from './worker-modules';
import { WorkerServer } from './worker-server';

const config = readChildConfig('worker');
const workerId = cluster.worker?.id ?? 0;
const log = createLogger(config.logLevel, 'worker', { worker: workerId }, { pretty: config.logPretty === true });
// The authenticator and the HTTP app are user code: their console lines become log lines too.
captureConsole(log);

process.on('SIGINT', () => log.debug('SIGINT ignored: the master stops this process'));
process.on('SIGTERM', () => log.debug('SIGTERM ignored: the master stops this process'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception in worker process');
  process.exit(1);
});
process.on('disconnect', () => process.exit(0));

/** The reason this worker cannot start, to the master (which names it in `listen()`'s error), then exit. */
function startFailed(error: unknown): void {
  log.error({ err: error }, 'worker cannot start');
  const { message, code } = toErrorInfo(error);
  const report: WorkerToMaster = { type: 'startFailed', error: code === undefined ? { message } : { message, code } };
  process.send?.([report], () => process.exit(1));
}

let server: WorkerServer | undefined;
/** What the master sends while the modules load (where each service listens): handled once the server exists. Few, and bounded by the services. */
const early: unknown[] = [];

function onBatch(to: WorkerServer, batch: unknown): void {
  const rejected = to.handleBatch(batch);
  if (rejected > 0) log.warn({ rejected }, 'malformed IPC messages from master ignored');
}

process.on('message', (batch: unknown) => {
  if (server === undefined) early.push(batch);
  else onBatch(server, batch);
});

async function main(): Promise<void> {
  try {
    const modules = await loadWorkerModules(config);
    server = new WorkerServer(config, workerId, process as unknown as IpcEndpoint, log, () => process.exit(0), modules);
    // Before the first request reaches the app (listen comes later).
    if (server.appServices !== undefined) installWorkerServices(server.appServices);
  } catch (error) {
    return startFailed(error);
  }
  for (const batch of early.splice(0)) onBatch(server, batch);
  server.listen().catch((error: unknown) => {
    log.error({ err: error, port: config.port, host: config.host }, 'worker cannot listen');
    process.exit(1);
  });
}

void main();
