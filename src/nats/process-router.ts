/**
 * One process's way onto NATS for its cross-node links: one connection and
 * one `ChannelRouter` subscribed to this process's own endpoint
 * (`<cluster>.link.<node>.<endpoint>.>`), made on first use. A worker whose
 * every service instance is on its own node, and every process of a server
 * without `cluster`, never calls it: nothing of NATS is loaded.
 */
import type { Logger } from '../logger';
import type { ResolvedCluster } from './cluster-options';
import { ChannelRouter, type ChannelRouterConfig } from './channel-router';
import { connectNats, type NatsLink } from './nats-connection';
import type { LinkTotals } from './nats-metrics';

/** A worker's endpoint within its node: `w<node:cluster worker id>`. */
export function workerEndpoint(workerId: number): string {
  return `w${workerId}`;
}

/** A service instance's endpoint within its node: `<service>-<instance>`. */
export function instanceEndpoint(service: string, instance: number): string {
  return `${service}-${instance}`;
}

/** The worker id of a worker endpoint (`w3` → 3), or undefined for anything else. */
export function workerOfEndpoint(endpoint: string): number | undefined {
  if (!/^w[0-9]{1,9}$/.test(endpoint)) return undefined;
  return Number(endpoint.slice(1));
}

/**
 * How the master announces an instance on another node to its workers:
 * `nats:<node>/<endpoint>/<epoch>`, its node, its endpoint there (`chat-0`)
 * and the pid of its process (a new process is a new epoch).
 */
export const REMOTE_ENDPOINT_PREFIX = 'nats:';

export interface RemoteEndpoint {
  readonly node: string;
  readonly endpoint: string;
  readonly epoch: string;
}

/** `nats:a/chat-0/4711` → its parts; undefined for a local (socket path) endpoint or a malformed one. */
export function parseRemoteEndpoint(endpoint: string): RemoteEndpoint | undefined {
  if (!endpoint.startsWith(REMOTE_ENDPOINT_PREFIX)) return undefined;
  const [node, name, epoch, ...rest] = endpoint.slice(REMOTE_ENDPOINT_PREFIX.length).split('/');
  if (node === undefined || name === undefined || epoch === undefined || rest.length > 0 || node === '' || name === '' || epoch === '') return undefined;
  return { node, endpoint: name, epoch };
}

export function formatRemoteEndpoint(node: string, endpoint: string, epoch: number | string): string {
  return `${REMOTE_ENDPOINT_PREFIX}${node}/${endpoint}/${epoch}`;
}

export class ProcessRouter {
  private opening: Promise<ChannelRouter> | undefined;
  private link: NatsLink | undefined;
  private router: ChannelRouter | undefined;
  private closed = false;

  constructor(
    private readonly cluster: ResolvedCluster,
    private readonly endpoint: string,
    private readonly log: Logger,
    private readonly accept?: ChannelRouterConfig['accept'],
  ) {}

  /** The router, connecting on the first call; rejects with `SY_ERR_NATS_UNAVAILABLE` when no server answers. */
  get(): Promise<ChannelRouter> {
    if (this.opening === undefined) {
      const opening = this.open();
      this.opening = opening;
      // A failed connect is tried again by the next caller (a link retries with backoff).
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    }
    return this.opening;
  }

  /** This process's link counters, once connected (see nats-metrics.ts). */
  totals(): LinkTotals | undefined {
    const router = this.router;
    return router === undefined ? undefined : { channels: router.totals(), router: router.stats };
  }

  /** The router if it is connected already. */
  get current(): ChannelRouter | undefined {
    return this.router;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.router?.close();
    await this.link?.close();
  }

  private async open(): Promise<ChannelRouter> {
    const link = await connectNats(this.cluster.nats);
    if (this.closed) {
      await link.close();
      throw new Error('closed while connecting to NATS');
    }
    this.link = link;
    const config: ChannelRouterConfig = {
      cluster: this.cluster.name,
      node: this.cluster.node,
      nodes: this.cluster.nodes,
      endpoint: this.endpoint,
      ...(this.accept !== undefined ? { accept: this.accept } : {}),
    };
    const router = new ChannelRouter(link, config, this.log);
    this.router = router;
    link.on('reconnect', () => router.reconnected());
    link.on('disconnect', () => this.log.warn({ endpoint: this.endpoint }, 'NATS connection lost; reconnecting'));
    return router;
  }
}
