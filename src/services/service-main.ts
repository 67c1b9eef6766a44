/**
 * Entry point of a service process, forked by the master. Loads the service
 * module, runs `onStart`, listens for the workers' links at the endpoint the
 * master chose, then serves them until told to stop or until the master goes
 * away (a closed IPC channel means exit at once).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readChildConfig } from '../child-env';
import { SwitchyardError, toErrorInfo } from '../errors';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import { captureConsole, createLogger } from '../logger';
import { runningHandlerFields } from './running-handler';
import { approximateSize, isMasterToService, readBatch, type LinkControl, type MasterToService, type ServiceToMaster, type WorkerToService } from '../protocol';
import { loadDefaultExport, loadFailure } from '../user-module';
import { Service, isServiceClass } from './service';
import { ServiceHost } from './service-host';
import { instanceKey } from '../shard-key';
import { ServiceMetrics } from './service-metrics';
import { Peers } from './peers';
import { LinkServer } from './link-server';
import { nodeIndexOfLinkId, workerOfLinkId } from '../client-id';
import { ProcessRouter, instanceEndpoint, workerOfEndpoint } from '../nats/process-router';

const config = readChildConfig('service');
// A service of several instances tags its lines with the instance; `client` comes from the handler running when a line is written.
const log = createLogger(config.logLevel, 'service', config.instances > 1 ? { service: config.name, instance: config.instance } : { service: config.name }, {
  pretty: config.logPretty === true,
  mixin: runningHandlerFields,
});
captureConsole(log);
const endpoint = process as unknown as IpcEndpoint;
const outbox = new BatchQueue<ServiceToMaster>(endpoint, {
  maxMessages: config.ipc.maxMessages,
  maxBytes: config.ipc.maxBytes,
  onError: (error) => log.debug({ err: error }, 'IPC write failed'),
});

let host: ServiceHost | undefined;
const pendingFromWorkers: Array<{ worker: number; message: WorkerToService }> = [];
const linkServer = new LinkServer(config.ipc, log, {
  onBatch: (worker, messages) => {
    if (host === undefined) for (const message of messages) pendingFromWorkers.push({ worker, message });
    else for (const message of messages) host.fromWorker(worker, message);
  },
  onClosed: (worker, reason) => host?.workerGone(worker, reason),
});

/**
 * With `cluster`: the links of workers on other nodes arrive over NATS, on
 * this instance's own endpoint. A hello is admitted when the worker it names
 * is one of the sending node's (its link id carries the node, and its
 * endpoint is that worker's); the NATS credentials are the trust boundary.
 */
const { cluster } = config;
const remote =
  cluster === undefined
    ? undefined
    : new ProcessRouter(cluster, instanceEndpoint(config.name, config.instance), log, (node, peerEndpoint) =>
        linkServer.acceptChannel(node, peerEndpoint, (from, fromEndpoint, worker) => {
          const index = cluster.nodes.indexOf(from);
          return index >= 0 && from !== cluster.node && nodeIndexOfLinkId(worker) === index && workerOfLinkId(worker) === workerOfEndpoint(fromEndpoint);
        }),
      );

/** The master's messages about who may link: the link server's, at once (its key comes before any link could). */
const LINK_CONTROL = { linkKey: true, admitWorker: true, revokeWorker: true, remoteWorkers: true } as const satisfies Record<LinkControl['type'], true>;

function isLinkControl(message: MasterToService): message is LinkControl {
  return Object.hasOwn(LINK_CONTROL, message.type);
}

/** Control messages are few; lifecycle reports and answers must never be dropped. */
function toMaster(message: ServiceToMaster): void {
  outbox.push(message, approximateSize(message), true);
  if (message.type === 'stopped') void exitAfterFlush(0);
}

/** Removes this instance's socket, and the master's socket folder once it is empty (the last service out). */
function removeEndpoint(): void {
  try {
    fs.rmSync(config.endpoint, { force: true });
    if (config.peerEndpoint !== undefined) fs.rmSync(config.peerEndpoint, { force: true });
    fs.rmdirSync(path.dirname(config.endpoint));
  } catch {
    // Not empty (another service's socket is still there), or already gone.
  }
}

async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([outbox.drained(), linkServer.drained()]);
  process.exit(code);
}

async function loadService(): Promise<Service<unknown, unknown>> {
  let exported: unknown;
  try {
    exported = await loadDefaultExport(config.modulePath);
  } catch (cause) {
    // Its own code: what to install is the fix, not the module.
    if (cause instanceof SwitchyardError && cause.code === 'SY_ERR_TS_NODE_MISSING') throw cause;
    throw new SwitchyardError('SY_ERR_SERVICE_LOAD_FAILED', `cannot load ${config.modulePath}: ${loadFailure(cause)}`, { cause });
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

/** The other instances of a service of several: direct connections between instances (peers.ts). */
const peers =
  config.instances > 1
    ? new Peers(config.instance, config.instances, config.ipc, log, {
        onMessage: (from, payload) => host?.fromPeer(from, payload),
        onUp: (instance) => host?.peerUp(instance),
        count: (topic) => host?.subscriberCount(topic) ?? 0,
        admits: (instance, secret) => linkServer.admitsPeer(instance, secret),
      })
    : undefined;

let resumesExpected = false;

/**
 * Once the host runs and the master's key (with the live workers) has come,
 * whichever is last: on a restart or a reload the workers that run now have
 * clients to resume, and the host waits for them (a first start has no worker
 * yet, and waits for nothing). No link can be admitted before the key.
 */
function expectResumes(): void {
  if (host === undefined || !linkServer.hasKey || resumesExpected) return;
  resumesExpected = true;
  host.expectResumes(linkServer.admittedWorkers(), config.resumeTimeout, config.ipc.maxMessages);
}

function serviceMetrics(): ServiceMetrics {
  const metrics = new ServiceMetrics(config.name, instanceKey(config.name, config.instance, config.instances));
  const router = remote;
  if (router !== undefined) metrics.trackNats(() => router.totals());
  return metrics;
}

async function main(): Promise<void> {
  // The master orchestrates shutdown; a terminal's Ctrl-C reaches the whole group.
  process.on('SIGINT', () => log.debug('SIGINT ignored: the master stops this process'));
  process.on('SIGTERM', () => log.debug('SIGTERM ignored: the master stops this process'));
  process.on('disconnect', () => {
    // The master is gone (it would have removed the socket folder on a clean stop): leave nothing behind.
    removeEndpoint();
    process.exit(0);
  });

  const pending: Array<Exclude<MasterToService, LinkControl>> = [];
  process.on('message', (batch: unknown) => {
    const rejected = readBatch(batch, isMasterToService, (message) => {
      if (isLinkControl(message)) {
        linkServer.fromMaster(message);
        if (message.type === 'linkKey') expectResumes();
        else if (message.type === 'revokeWorker') host?.workerRevoked(message.worker);
      }
      else if (host === undefined) pending.push(message);
      else host.fromMaster(message);
    });
    if (rejected > 0) log.warn({ rejected }, 'malformed IPC messages from master ignored');
  });

  let started: ServiceHost;
  try {
    const service = await loadService();
    started = new ServiceHost(
      service,
      config.name,
      {
        toMaster,
        toWorker: (worker, message) => linkServer.send(worker, message),
        workers: () => linkServer.workers(),
        drained: () => linkServer.drained(),
        linksClosed: () => linkServer.allClosed(),
        stopListening: () => linkServer.stopListening(),
        ...(peers === undefined ? {} : { peers }),
      },
      log,
      { requestTimeout: config.requestTimeout, linkMaxBytes: config.ipc.maxBytes, metrics: serviceMetrics(),
        placement: { instance: config.instance, instances: config.instances },
      },
    );
    await started.start();
    await linkServer.listen(config.endpoint);
    // Subscribed before the master hears "started": a worker of another node may link from then on.
    await remote?.get();
    if (peers !== undefined && config.peerEndpoint !== undefined) await peers.listen(config.peerEndpoint);
  } catch (error) {
    // The master logs the one line an operator reads (name, module, cause); the stack only at debug, here.
    log.debug({ err: error }, 'service failed to start');
    toMaster({ type: 'startFailed', error: toErrorInfo(error) });
    await exitAfterFlush(1);
    return;
  }
  toMaster({ type: 'started' });
  host = started;
  expectResumes();
  for (const { worker, message } of pendingFromWorkers.splice(0)) started.fromWorker(worker, message);
  for (const message of pending.splice(0)) started.fromMaster(message);
}

process.on('unhandledRejection', (reason) => {
  log.error({ err: reason }, 'unhandled promise rejection in service process');
});
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception in service process');
  process.exit(1);
});

void main();
