/**
 * Which way new connections reach the workers (`balancing`), and whether this
 * runtime can do `'reuse-port'`: each worker listens on a socket of its own
 * with SO_REUSEPORT (`net.Server.listen({ reusePort: true, exclusive: true })`,
 * Node 22.12+ and 23.1+), and the kernel spreads incoming connections over
 * them by a hash of the connection's addresses — no hand-off through the
 * master (`'round-robin'`) and no race on one shared socket (`'kernel'`).
 * `'auto'` (the default) is `'reuse-port'` where it is available, else
 * `'round-robin'`, so Node 20 keeps what it did.
 */
import type { Balancing } from './options-spec';

/** A mode a cluster actually listens with: `'auto'` resolved. */
export type ListenBalancing = Exclude<Balancing, 'auto'>;

/**
 * Platforms whose SO_REUSEPORT spreads connections over the sockets bound to
 * one port (Node refuses `reusePort` on others; macOS has the flag but gives
 * every connection to the last socket bound).
 */
const REUSE_PORT_PLATFORMS: ReadonlySet<NodeJS.Platform> = new Set(['linux', 'freebsd']);

/** Whether `listen({ reusePort })` is there: Node 22.12+ or 23.1+ (and later majors), on Linux or FreeBSD. */
export function reusePortAvailable(version: string = process.versions.node, platform: NodeJS.Platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const hasOption = major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return hasOption && REUSE_PORT_PLATFORMS.has(platform);
}

/** What `balancing` means on this runtime: `'auto'` becomes `'reuse-port'` where available, else `'round-robin'`. */
export function listenBalancing(balancing: Balancing, available: boolean = reusePortAvailable()): ListenBalancing {
  if (balancing !== 'auto') return balancing;
  return available ? 'reuse-port' : 'round-robin';
}
