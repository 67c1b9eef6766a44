/**
 * Client ids are `<worker>.<sequence>` in base 36, e.g. `3.1a`. The worker part
 * is the `node:cluster` worker id, which the master never reuses while it runs,
 * so ids are unique across the cluster and across worker restarts, and the
 * broker learns which worker holds a client without a table lookup.
 */

const ID_PATTERN = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/;

export function formatClientId(workerId: number, sequence: number): string {
  return `${workerId.toString(36)}.${sequence.toString(36)}`;
}

/** The worker id encoded in a client id, or `undefined` when it is malformed. */
export function workerOfClientId(id: string): number | undefined {
  const match = ID_PATTERN.exec(id);
  if (match === null) return undefined;
  return parseInt(match[1] as string, 36);
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
}
