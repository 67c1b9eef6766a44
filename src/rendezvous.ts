/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the instance whose
 * weight for it is highest. Going from N to N+1 instances moves only the keys
 * the new instance now wins (about 1/(N+1) of them); going to N-1 moves only
 * the removed instance's keys. Pure and allocation-free: the worker calls it
 * once per connection of a service with several instances.
 */

/** FNV-1a over the string's UTF-16 units: cheap, and good enough once mixed (see `mix`). */
function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's finaliser: every input bit affects every output bit, which FNV alone does not give for short keys. */
function mix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The weight of instance `instance` for a key of hash `keyHash`: an independent-looking value per instance. */
function weight(keyHash: number, instance: number): number {
  return mix(keyHash ^ mix(Math.imul(instance + 1, 0x9e3779b9)));
}

/** The instance (0 to `instances` − 1) that owns `key`. */
export function ownerOf(key: string, instances: number): number {
  if (instances <= 1) return 0;
  const keyHash = fnv1a(key);
  let best = 0;
  let bestWeight = -1;
  for (let i = 0; i < instances; i++) {
    const w = weight(keyHash, i);
    if (w > bestWeight) {
      bestWeight = w;
      best = i;
    }
  }
  return best;
}

/**
 * The highest-weight instance for `key` among those `usable` accepts, or -1
 * when none does: the owner when it is usable, else the next in the key's own
 * ranking (HTTP requests skip an instance that is down this way).
 */
export function bestUsable(key: string, instances: number, usable: (instance: number) => boolean): number {
  const keyHash = fnv1a(key);
  let best = -1;
  let bestWeight = -1;
  for (let i = 0; i < instances; i++) {
    if (!usable(i)) continue;
    const w = weight(keyHash, i);
    if (w > bestWeight) {
      bestWeight = w;
      best = i;
    }
  }
  return best;
}
