/**
 * Entry point of a service process, forked by the master. Loads the service
 * module, runs `onStart`, then serves protocol messages until told to stop or
 * until the master goes away (a closed IPC channel means exit at once).
 */
import { readChildConfig } from '../child-env';
import { SwitchyardError, toErrorInfo } from '../errors';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import { createLogger } from '../logger';
import { approximateSize, isMasterToService, readBatch, type MasterToService, type ServiceToMaster } from '../protocol';
import { isTypeScriptPath, registerTypeScript } from '../typescript-support';
import { Service, isServiceClass } from './service';
import { ServiceHost } from './service-host';
import { ServiceMetrics } from './service-metrics';

const config = readChildConfig('service');
const log = createLogger(config.logLevel, 'service', { service: config.name });
const endpoint = process as unknown as IpcEndpoint;
const outbox = new BatchQueue<ServiceToMaster>(endpoint, {
  maxMessages: config.ipc.maxMessages,
  maxBytes: config.ipc.maxBytes,
  onError: (error) => log.debug({ err: error }, 'IPC write failed'),
});

/**
 * Messages whose loss would corrupt state elsewhere pass the bound: acks (the
 * master would hold handled messages forever), topic and close changes, and
 * lifecycle reports. Their number is bounded elsewhere (acks by the master's
 * own bound on unacknowledged messages).
 */
const MUST_KEEP: ReadonlySet<ServiceToMaster['type']> = new Set(['ack', 'subscribe', 'unsubscribe', 'close', 'started', 'startFailed', 'stopped', 'response', 'metrics']);

function emit(message: ServiceToMaster): void {
  if (!outbox.push(message, approximateSize(message), MUST_KEEP.has(message.type))) {
    log.warn({ type: message.type, depth: outbox.depth }, 'IPC queue to master is full; message dropped');
  }
  if (message.type === 'stopped') void exitAfterFlush(0);
}

async function exitAfterFlush(code: number): Promise<never> {
  await outbox.drained();
  process.exit(code);
}

function loadService(): Service {
  if (isTypeScriptPath(config.modulePath)) registerTypeScript();
  let exported: unknown;
  try {
    const loaded = require(config.modulePath) as { default?: unknown };
    exported = loaded.default ?? loaded;
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_SERVICE_LOAD_FAILED', `cannot load ${config.modulePath}: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
  if (!isServiceClass(exported)) {
    throw new SwitchyardError('SY_ERR_SERVICE_LOAD_FAILED', `${config.modulePath} must default-export a class that extends Service`);
  }
  const instance = new exported();
  if (!(instance instanceof Service)) {
    throw new SwitchyardError('SY_ERR_SERVICE_LOAD_FAILED', `${config.modulePath} extends Service from another copy of switchyard; import it from the same installation`);
  }
  return instance;
}

async function main(): Promise<void> {
  // The master orchestrates shutdown; a terminal's Ctrl-C reaches the whole group.
  process.on('SIGINT', () => log.debug('SIGINT ignored: the master stops this process'));
  process.on('SIGTERM', () => log.debug('SIGTERM ignored: the master stops this process'));
  process.on('disconnect', () => process.exit(0));

  const pending: MasterToService[] = [];
  let host: ServiceHost | undefined;
  process.on('message', (batch: unknown) => {
    const rejected = readBatch(batch, isMasterToService, (message) => {
      if (host === undefined) pending.push(message);
      else host.handle(message);
    });
    if (rejected > 0) log.warn({ rejected }, 'malformed IPC messages from master ignored');
  });

  let started: ServiceHost;
  try {
    const service = loadService();
    started = new ServiceHost(service, config.name, emit, log, { requestTimeout: config.requestTimeout, metrics: new ServiceMetrics(config.name) });
    await started.start();
  } catch (error) {
    log.error({ err: error }, 'service failed to start');
    emit({ type: 'startFailed', error: toErrorInfo(error) });
    await exitAfterFlush(1);
    return;
  }
  emit({ type: 'started' });
  host = started;
  for (const message of pending.splice(0)) started.handle(message);
}

process.on('unhandledRejection', (reason) => {
  log.error({ err: reason }, 'unhandled promise rejection in service process');
});
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception in service process');
  process.exit(1);
});

void main();
