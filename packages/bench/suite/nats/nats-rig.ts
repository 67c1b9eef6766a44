/**
 * Two Switchyard nodes joined through NATS, for the suite's `--nats` rows:
 * node `a` holds every service instance (echo, fanout, watch), node `b` none
 * (workers only), one worker each (two cores are shared with the generator
 * and nats-server). Each node is a suite target process of its own
 * (switchyard-target.ts with SWITCHYARD_BENCH_CLUSTER), so its master,
 * worker and services form one process tree; the rig's server cost is both
 * trees plus every nats-server process, read from /proc.
 */
import WebSocket from 'ws';
import { treeCpuSeconds, treeRssBytes } from '../proc-stats';
import type { Meter } from '../suite-scenarios';
import { Target } from '../targets';
import type { NatsServer } from './nats-server';

/** The subject prefix of the rig's cluster. */
export const BENCH_CLUSTER_NAME = 'sybench';
export type NodeName = 'a' | 'b';
const NODES: readonly NodeName[] = ['a', 'b'];
const JOIN_TIMEOUT_MS = 20_000;

/** Starts node `name` with one worker, on the NATS servers `nats`; resolves once it listens. */
export function startNode(name: NodeName, nats: readonly string[]): Promise<Target> {
  const cluster = { node: name, nats: [...nats], name: BENCH_CLUSTER_NAME, nodes: [...NODES] };
  return Target.start('switchyard', 1, { SWITCHYARD_BENCH_CLUSTER: JSON.stringify(cluster), SWITCHYARD_BENCH_SERVICE_NODE: 'a' });
}

/**
 * Resolves once one message to `url` came back (the node has heard of the
 * service's instance on the other node: held messages wait for that), or
 * rejects after `timeoutMs`.
 */
export function probe(url: string, timeoutMs = JOIN_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => finish(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    function finish(error?: Error): void {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      if (error === undefined) resolve();
      else reject(error);
    }
    socket.once('open', () => socket.send('probe'));
    socket.once('message', () => finish());
    socket.once('error', (error) => finish(error));
    socket.once('close', (code) => finish(new Error(`${url} closed ${code} before answering`)));
  });
}

export class NatsRig implements Meter {
  private constructor(
    readonly servers: readonly NatsServer[],
    readonly nodes: Record<NodeName, Target>,
  ) {}

  /**
   * Starts both nodes, node `n` on the servers `natsFor(n)`, and resolves once
   * a client on each reaches the echo service on `a`.
   */
  static async start(servers: readonly NatsServer[], natsFor: (node: NodeName) => readonly string[]): Promise<NatsRig> {
    const started = await Promise.allSettled(NODES.map((node) => startNode(node, natsFor(node))));
    const targets = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(targets.map((target) => target.stop()));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    const rig = new NatsRig(servers, { a: targets[0] as Target, b: targets[1] as Target });
    try {
      await Promise.all(NODES.map((node) => probe(rig.url(node, '/echo'))));
    } catch (error) {
      await rig.stopNodes();
      throw error;
    }
    return rig;
  }

  url(node: NodeName, path: string): string {
    return `ws://127.0.0.1:${this.nodes[node].port}${path}`;
  }

  httpUrl(node: NodeName, path: string): string {
    return `http://127.0.0.1:${this.nodes[node].port}${path}`;
  }

  /** Both nodes' process trees and every nats-server that still runs. */
  private roots(): number[] {
    return [this.nodes.a.pid, this.nodes.b.pid, ...this.servers.filter((server) => server.running).map((server) => server.pid)];
  }

  cpuSeconds(): number {
    return this.roots().reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  }

  rssBytes(): number {
    return this.roots().reduce((sum, pid) => sum + treeRssBytes(pid), 0);
  }

  /** SIGKILL of node `node`'s master (its workers and services exit with it); resolves once it has exited. */
  async killNode(node: NodeName): Promise<void> {
    await this.nodes[node].kill();
  }

  /** Starts node `node` again (after `killNode`) on the servers `nats`. */
  async restartNode(node: NodeName, nats: readonly string[]): Promise<void> {
    this.nodes[node] = await startNode(node, nats);
  }

  /** Stops both nodes (SIGTERM, then SIGKILL after a grace period); the servers are the caller's. */
  async stopNodes(): Promise<void> {
    await Promise.all(NODES.map((node) => this.nodes[node].stop()));
  }
}
