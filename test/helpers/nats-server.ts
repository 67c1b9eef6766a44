/**
 * Real nats-server processes for the multi-node tests: one server, or a
 * cluster of three joined by routes, all on loopback and on ports the servers
 * pick themselves. The processes are started by the bench package's module
 * (packages/bench/suite/nats/nats-server.ts, which the benchmark's `--nats`
 * rows use too); this helper adds the binary the tests use and their skip.
 * `stopAllNats()` (call it from afterEach/afterAll) kills every server
 * started and removes their folders.
 *
 * Tests that need a server skip loudly when nats-server is not installed:
 * `describeWithNats` in place of `describe`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  startNatsCluster as startCluster,
  startNatsServer as startServer,
  type NatsCluster,
  type NatsServer,
  type NatsServerOptions,
} from '../../packages/bench/suite/nats/nats-server';

export { stopAllNats, waitForRoutes } from '../../packages/bench/suite/nats/nats-server';
export type { NatsCluster, NatsServer, NatsServerOptions } from '../../packages/bench/suite/nats/nats-server';

/** Debian's nats-server (2.9.x); NATS_SERVER overrides it. */
export const NATS_SERVER_PATH = process.env.NATS_SERVER ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** The tests' cluster name: routed servers need one. */
const TEST_CLUSTER_NAME = 'sy-test';

export function natsServerAvailable(): boolean {
  if (path.isAbsolute(NATS_SERVER_PATH)) return existsSync(NATS_SERVER_PATH);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, NATS_SERVER_PATH)));
}

/** `describe`, or `describe.skip` with a warning naming the file when nats-server is missing. */
export function describeWithNats(file: string): jest.Describe {
  if (natsServerAvailable()) return describe;
  console.warn(
    `SKIPPED: NATS tests (${file}) need nats-server (${NATS_SERVER_PATH}), which is missing. ` +
      'Install it with `apt-get install -y nats-server` or set NATS_SERVER.',
  );
  return describe.skip;
}

/** Starts one nats-server on free loopback ports; resolves once it accepts clients. */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  return startServer(NATS_SERVER_PATH, { clusterName: TEST_CLUSTER_NAME, ...options });
}

/**
 * Starts `size` (default 3) servers joined into one NATS cluster on loopback
 * and resolves once each has a route to every other (full mesh), checked on
 * their monitoring endpoints.
 */
export function startNatsCluster(size = 3, options: Omit<NatsServerOptions, 'routes'> = {}): Promise<NatsCluster> {
  return startCluster(NATS_SERVER_PATH, size, { clusterName: TEST_CLUSTER_NAME, ...options });
}
