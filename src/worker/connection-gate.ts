/**
 * Admission of WebSocket upgrades by who asks: the page's `Origin`, how many
 * clients this worker holds, and how many of them come from the same remote
 * address; and of plain HTTP connections by how many come from the same
 * address. Counts are per worker: the cluster spreads connections over
 * workers, so the cluster-wide bound is roughly `workers ×` these.
 */
import type { WorkerLimits } from '../child-env';

/** The gate's answer to one upgrade (not the link's `LinkAdmission` of a client event, see service-link.ts). */
export type GateVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly message: string; readonly headers?: Readonly<Record<string, string>> };

/** One shared answer for every admitted connection: admitting allocates nothing per connection. */
const ADMITTED: GateVerdict = Object.freeze({ ok: true });

/** Seconds a refused client is asked to wait: slots free up as soon as any client leaves. */
export const RETRY_AFTER_SECONDS = '1';

export type GateLimits = Pick<WorkerLimits, 'maxConnectionsPerWorker' | 'maxConnectionsPerIp' | 'allowedOrigins'>;

/**
 * How many slots each remote address holds, up to a cap. An entry exists only
 * while its address holds a slot, so a scan of many addresses leaves no
 * memory behind.
 */
export class AddressSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Addresses holding at least one slot. */
  get addresses(): number {
    return this.held.size;
  }

  /** Slots held by `address`. */
  countFrom(address: string): number {
    return this.held.get(address) ?? 0;
  }

  /** Takes a slot for `address`; false when it already holds `cap`. */
  take(address: string): boolean {
    const count = this.held.get(address) ?? 0;
    if (count >= this.cap) return false;
    this.held.set(address, count + 1);
    return true;
  }

  /** Frees one slot of `address`; false (and nothing freed) when it holds none. */
  release(address: string): boolean {
    const count = this.held.get(address);
    if (count === undefined) return false;
    if (count <= 1) this.held.delete(address);
    else this.held.set(address, count - 1);
    return true;
  }
}

export class ConnectionGate {
  private total = 0;
  private readonly perAddress: AddressSlots;
  private readonly origins: ReadonlySet<string> | null;

  constructor(private readonly limits: GateLimits) {
    this.origins = limits.allowedOrigins === null ? null : new Set(limits.allowedOrigins);
    this.perAddress = new AddressSlots(limits.maxConnectionsPerIp);
  }

  /** Connections admitted and not yet released. */
  get size(): number {
    return this.total;
  }

  /** Connections admitted from `address` and not yet released. */
  countFrom(address: string): number {
    return this.perAddress.countFrom(address);
  }

  /**
   * Admits a connection or says how to refuse it. An admitted connection
   * holds its slot until `release(address)` is called for it, once: the
   * caller keeps track (a closure per admission to do it here would live as
   * long as the connection).
   */
  admit(origin: string | undefined, address: string): GateVerdict {
    // Origin first: a page that may not connect at all should learn that, not "try later".
    if (this.origins !== null && (origin === undefined || !this.origins.has(origin))) {
      return { ok: false, status: 403, message: 'Origin not allowed' };
    }
    if (this.total >= this.limits.maxConnectionsPerWorker) {
      return { ok: false, status: 503, message: 'Too many connections', headers: { 'Retry-After': RETRY_AFTER_SECONDS } };
    }
    if (!this.perAddress.take(address)) {
      return { ok: false, status: 429, message: 'Too many connections from this address', headers: { 'Retry-After': RETRY_AFTER_SECONDS } };
    }
    this.total++;
    return ADMITTED;
  }

  /** Frees the slot of one connection admitted from `address`; a release with no slot held there frees nothing. */
  release(address: string): void {
    if (this.perAddress.release(address)) this.total--;
  }
}
