/**
 * Spreads client connections over loopback source addresses and generator
 * processes. Linux gives each source address its own ephemeral port range
 * (~28,000 ports here), so past that count one port needs several addresses;
 * and one process may hold at most 20,000 descriptors, so past that count the
 * load needs several processes.
 */

/** Host parts per third octet: .1 to .254 (0 and 255 are avoided for clarity). */
const HOSTS_PER_BLOCK = 254;

/** The loopback address with index `index`: 0 → 127.0.0.1, 253 → 127.0.0.254, 254 → 127.0.1.1 … */
export function loopbackAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= HOSTS_PER_BLOCK * 256) {
    throw new RangeError(`loopback address index ${index} is out of range`);
  }
  return `127.0.${Math.floor(index / HOSTS_PER_BLOCK)}.${(index % HOSTS_PER_BLOCK) + 1}`;
}

/** How many source addresses `connections` need at `perAddress` each. */
export function addressesNeeded(connections: number, perAddress: number): number {
  return Math.max(1, Math.ceil(connections / perAddress));
}

/**
 * Source address of connection `index` (0-based, over all processes):
 * round-robin over the addresses the whole run needs, from `base` on.
 */
export function sourceAddressFor(index: number, connections: number, perAddress: number, base = 0): string {
  return loopbackAddress(base + (index % addressesNeeded(connections, perAddress)));
}

export interface Shard {
  /** 0-based; shard 0 also runs the fanout publisher. */
  readonly index: number;
  /** First global connection index of this shard. */
  readonly first: number;
  readonly count: number;
}

/** Splits `connections` over `procs` processes (0 = as few as `maxPerProc` allows), as evenly as possible. */
export function planShards(connections: number, procs: number, maxPerProc: number): Shard[] {
  const needed = Math.ceil(connections / maxPerProc);
  const count = Math.max(1, procs === 0 ? needed : Math.max(procs, needed));
  const shards: Shard[] = [];
  let first = 0;
  for (let index = 0; index < count; index++) {
    const size = Math.floor(connections / count) + (index < connections % count ? 1 : 0);
    shards.push({ index, first, count: size });
    first += size;
  }
  return shards;
}
