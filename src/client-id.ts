/**
 * Client ids are `<worker>.<sequence>` in base 36, e.g. `3.1a`. The worker part
 * is the `node:cluster` worker id, which the master never reuses while it runs,
 * so ids are unique across the cluster and across worker restarts, and the
 * service learns which worker's link holds a client without a table lookup.
 */

/**
 * With `cluster`, a worker's link id carries its node: `(index + 1) · 2^32 +
 * worker id`, `index` being the node's place in the cluster's sorted node
 * list (the same on every node). Client ids keep their shape and stay unique
 * across the cluster, and a service still finds a client's link in its id;
 * on one machine the link id is the worker id, so ids are unchanged.
 */
export const NODE_ID_STRIDE = 2 ** 32;

export function clusterLinkId(nodeIndex: number, workerId: number): number {
  return (nodeIndex + 1) * NODE_ID_STRIDE + workerId;
}

/** The node index of a link id (`clusterLinkId`), or -1 for a link id of one machine. */
export function nodeIndexOfLinkId(linkId: number): number {
  return Math.floor(linkId / NODE_ID_STRIDE) - 1;
}

/** The node-local worker id of a link id. */
export function workerOfLinkId(linkId: number): number {
  return linkId % NODE_ID_STRIDE;
}

export function formatClientId(workerId: number, sequence: number): string {
  return `${workerId.toString(36)}.${sequence.toString(36)}`;
}

/**
 * Where the dot of a well-formed id is (1 to 11 base-36 digits on each side),
 * or -1. On the services' hot path: a character scan instead of a regular expression.
 */
function dotOf(id: string): number {
  const dot = id.indexOf('.');
  if (dot < 1 || dot > 11 || id.length - dot - 1 < 1 || id.length - dot - 1 > 11) return -1;
  for (let i = 0; i < id.length; i++) {
    if (i === dot) continue;
    const c = id.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return -1;
  }
  return dot;
}

/** The worker id encoded in a client id, or `undefined` when it is malformed. */
export function workerOfClientId(id: string): number | undefined {
  const dot = dotOf(id);
  return dot === -1 ? undefined : parseInt(id.slice(0, dot), 36);
}

/** The per-worker sequence number encoded in an id, or `undefined` when it is malformed. */
export function sequenceOfClientId(id: string): number | undefined {
  const dot = dotOf(id);
  return dot === -1 ? undefined : parseInt(id.slice(dot + 1), 36);
}

/** Hands out ids for one worker; sequences start at 1. */
export class ClientIdAllocator {
  private sequence = 0;

  constructor(private readonly workerId: number) {
    if (!Number.isSafeInteger(workerId) || workerId < 0) {
      throw new RangeError(`workerId must be a non-negative integer, got ${workerId}`);
    }
  }

  next(): string {
    this.sequence++;
    return formatClientId(this.workerId, this.sequence);
  }

  /** Whether `id` is one this allocator has handed out (a client here now, or gone since). */
  issued(id: string): boolean {
    if (workerOfClientId(id) !== this.workerId) return false;
    const sequence = sequenceOfClientId(id) as number;
    return sequence >= 1 && sequence <= this.sequence;
  }
}
