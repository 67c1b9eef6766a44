/**
 * Which way new connections reach the workers (`balancing`), and whether this
 * runtime can do `'reuse-port'`: each worker listens on a socket of its own
 * with SO_REUSEPORT (`net.Server.listen({ reusePort: true, exclusive: true })`,
 * Node 22.12+ and 23.1+), and the kernel spreads incoming connections over
 * them by a hash of the connection's addresses — no hand-off through the
 * master (`'round-robin'`) and no race on one shared socket (`'kernel'`).
 *
 * The catch: a worker that stops (a rolling reload, a crash) closes its own
 * socket, and Linux resets the connections queued on it that were not
 * accepted yet — a few per reload under a steady stream of connects
 * (measured: docs/failure-semantics.md), which breaks "no connection refused
 * during a reload". Linux 5.14+ moves them to the other sockets of the group
 * instead when `net.ipv4.tcp_migrate_req` is 1. So `'auto'` (the default) is
 * `'reuse-port'` only where the runtime has it and the kernel migrates;
 * otherwise `'kernel-fair'`: the workers accept from the one shared socket
 * (no hand-off through the master, no reset on a reload: the queue is shared),
 * each one connection per wakeup (libuv's `UV_TCP_SINGLE_ACCEPT`), which
 * keeps the spread even where plain `'kernel'` lets one worker take bursts.
 * Measured against `'round-robin'` on Node 20: half the server CPU per
 * connect and the storm row at 1.0× the single process (docs/bench.md#balancing).
 */
import { readFileSync } from 'node:fs';
import type { Balancing } from './options-spec';

/** A mode a cluster actually listens with: `'auto'` resolved. */
export type ListenBalancing = Exclude<Balancing, 'auto'>;

/**
 * Platforms whose SO_REUSEPORT spreads connections over the sockets bound to
 * one port (Node refuses `reusePort` on others; macOS has the flag but gives
 * every connection to the last socket bound).
 */
const REUSE_PORT_PLATFORMS: ReadonlySet<NodeJS.Platform> = new Set(['linux', 'freebsd']);

const MIGRATE_REQ_SYSCTL = '/proc/sys/net/ipv4/tcp_migrate_req';

/** Whether `listen({ reusePort })` is there: Node 22.12+ or 23.1+ (and later majors), on Linux or FreeBSD. */
export function reusePortAvailable(version: string = process.versions.node, platform: NodeJS.Platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const hasOption = major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return hasOption && REUSE_PORT_PLATFORMS.has(platform);
}

/** Whether Linux hands a closing listener's queued connections to the other sockets of its group (`net.ipv4.tcp_migrate_req = 1`). */
export function kernelMigratesRequests(read: (file: string) => string = (file) => readFileSync(file, 'utf8')): boolean {
  try {
    return read(MIGRATE_REQ_SYSCTL).trim() === '1';
  } catch {
    return false; // no such setting: an older kernel, or not Linux
  }
}

/** Whether `'auto'` takes `'reuse-port'` here: the runtime has it and a worker's stop resets no connection. */
export function reusePortByDefault(): boolean {
  return reusePortAvailable() && kernelMigratesRequests();
}

/** What `balancing` means on this machine: `'auto'` becomes `'reuse-port'` where that is safe (`reusePortByDefault`), else `'kernel-fair'`. */
export function listenBalancing(balancing: Balancing, reusePortSafe: boolean = reusePortByDefault()): ListenBalancing {
  if (balancing !== 'auto') return balancing;
  return reusePortSafe ? 'reuse-port' : 'kernel-fair';
}
