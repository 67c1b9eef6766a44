/**
 * Entry point of a worker process, forked by the master through node:cluster.
 * Exits when the master goes away (node:cluster does that for workers when the
 * IPC channel closes) or once a `stop` from the master has been carried out.
 */
import cluster from 'node:cluster';
import { readChildConfig } from '../child-env';
import type { IpcEndpoint } from '../ipc/batch-queue';
import { createLogger } from '../logger';
import { WorkerServer } from './worker-server';

const config = readChildConfig('worker');
const workerId = cluster.worker?.id ?? 0;
const log = createLogger(config.logLevel, 'worker', { worker: workerId }, { pretty: config.logPretty === true });
const server = new WorkerServer(config, workerId, process as unknown as IpcEndpoint, log, () => process.exit(0));

process.on('SIGINT', () => log.debug('SIGINT ignored: the master stops this process'));
process.on('SIGTERM', () => log.debug('SIGTERM ignored: the master stops this process'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception in worker process');
  process.exit(1);
});
process.on('disconnect', () => process.exit(0));

process.on('message', (batch: unknown) => {
  const rejected = server.handleBatch(batch);
  if (rejected > 0) log.warn({ rejected }, 'malformed IPC messages from master ignored');
});

server.listen().catch((error: unknown) => {
  log.error({ err: error, port: config.port, host: config.host }, 'worker cannot listen');
  process.exit(1);
});
