/**
 * An in-memory stand-in for NATS, for channel and link tests without a
 * nats-server: a publish reaches every subscription whose subject prefix it
 * matches (`prefix.>` subscriptions), on a later turn, as a network would.
 * `drop` loses what it matches (a cut towards one node, say). And a rig of
 * one service instance and one worker of another node linked through it.
 */
import { clusterLinkId } from '../../src/client-id';
import type { IpcLimits } from '../../src/child-env';
import type { Logger } from '../../src/logger';
import { ChannelRouter, type NatsPort } from '../../src/nats/channel-router';
import { formatRemoteEndpoint } from '../../src/nats/process-router';
import { LinkServer, type LinkServerHooks, type LinkServerOptions } from '../../src/services/link-server';
import { ServiceLink, type ServiceLinkHooks } from '../../src/worker/service-link';

export class MemoryNats {
  /** Publishes this returns true for are lost. */
  drop: (subject: string) => boolean = () => false;
  private readonly subscriptions: Array<{ prefix: string; handler: (subject: string, data: Uint8Array) => void }> = [];

  port(): NatsPort {
    return {
      publish: (subject, data) => {
        if (this.drop(subject)) return;
        const copy = Buffer.from(data);
        setImmediate(() => {
          for (const sub of this.subscriptions) if (subject.startsWith(sub.prefix)) sub.handler(subject, copy);
        });
      },
      subscribe: (subject, handler) => {
        const entry = { prefix: subject.slice(0, -1), handler };
        this.subscriptions.push(entry);
        return () => this.subscriptions.splice(this.subscriptions.indexOf(entry), 1);
      },
      maxPayload: () => 1024 * 1024,
    };
  }
}

/** Resolves once `condition()` holds, checked every 5 ms; rejects naming `what` after 5 s. */
export function until(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const check = (): void => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 5);
    };
    check();
  });
}

/** The rig's nodes, its worker's link id (worker 3 of node b) and the instance's endpoint as a worker is told it. */
export const RIG_NODES = ['a', 'b'];
export const RIG_WORKER = clusterLinkId(1, 3);
export const RIG_INSTANCE = formatRemoteEndpoint('a', 'echo-0', 42);

export interface ChannelLinkRig {
  readonly bus: MemoryNats;
  readonly server: LinkServer;
  readonly link: ServiceLink;
  readonly serviceRouter: ChannelRouter;
  readonly workerRouter: ChannelRouter;
  /** Ends the link and both routers. */
  close(): void;
}

/**
 * Service instance `echo-0` of node a (its `LinkServer`, which admits only
 * `RIG_WORKER` of node b) and worker w3 of node b (its `ServiceLink` to
 * `echo`), each with its router on one `MemoryNats`. Nothing is linked yet:
 * the test relays node b's heartbeat (`remoteWorkers`) and calls
 * `link.instanceUp(RIG_INSTANCE, '')` when it wants.
 */
export function channelLinkRig(
  log: Logger,
  options: {
    readonly serviceLimits?: IpcLimits;
    readonly server?: Partial<LinkServerHooks>;
    readonly serverOptions?: LinkServerOptions;
    readonly onWorkerBatch?: ServiceLinkHooks['onBatch'];
  } = {},
): ChannelLinkRig {
  const bus = new MemoryNats();
  const server = new LinkServer(options.serviceLimits ?? { maxMessages: 100, maxBytes: 1 << 20 }, log, { onBatch: () => undefined, onClosed: () => undefined, ...options.server }, options.serverOptions);
  const serviceRouter = new ChannelRouter(bus.port(), {
    cluster: 'c',
    node: 'a',
    nodes: RIG_NODES,
    endpoint: 'echo-0',
    accept: (peer, endpoint) => server.acceptChannel(peer, endpoint, (from, _e, worker) => from === 'b' && worker === RIG_WORKER),
  }, log);
  const workerRouter = new ChannelRouter(bus.port(), { cluster: 'c', node: 'b', nodes: RIG_NODES, endpoint: 'w3' }, log);
  const hooks: ServiceLinkHooks = { onBatch: options.onWorkerBatch ?? (() => undefined), onInstanceGone: () => undefined, onFreshInstance: () => undefined, onQuarantined: () => undefined };
  const link = new ServiceLink('echo', RIG_WORKER, { maxMessages: 100, maxBytes: 1 << 20, maxDeliveries: 3 }, log, hooks, 0, 'echo', () => Promise.resolve(workerRouter));
  const close = (): void => {
    link.end();
    workerRouter.close();
    serviceRouter.close();
  };
  return { bus, server, link, serviceRouter, workerRouter, close };
}
