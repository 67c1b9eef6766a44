/**
 * Bench service for the instances scenario: an echo whose handler first does
 * a fixed amount of CPU work per message (`WORK_ITERATIONS` rounds of an
 * integer hash: the same work in every run; 50,000 rounds measured about
 * 85 µs of CPU per message on this suite's machine, so 30,000 is about 50 µs), so that the service process, not the
 * workers, is the ceiling, and running it as more instances can lift it.
 */
import { Service, type Client } from 'switchyard';

export const WORK_ITERATIONS = 30_000;

/** The fixed work: an FNV-style mix the JIT cannot skip (its result is kept). */
function work(iterations: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < iterations; i++) {
    hash ^= i;
    hash = Math.imul(hash, 0x01000193);
    hash ^= hash >>> 13;
  }
  return hash >>> 0;
}

export default class CpuEchoService extends Service {
  /** Kept so the work has an observable result. */
  checksum = 0;

  override onMessage(client: Client, data: string | Buffer): void {
    this.checksum ^= work(WORK_ITERATIONS);
    this.send(client.id, data);
  }
}
