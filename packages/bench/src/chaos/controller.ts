/**
 * Runs a chaos plan against the server being loaded: at every interval it
 * reads the processes from `/healthz`, signals one (SIGKILL a service instance
 * or a worker, SIGHUP the master for a rolling reload) and waits until
 * `/healthz` shows it replaced and everything up again — the event's recovery
 * time. Events run one at a time: one that has not recovered by the next slot
 * delays the next. It needs to run on the server's machine as its user (it
 * signals pids), which is how `switchyard bench` is meant to be used.
 */
import { sleep } from '../control';
import { fetchHealth, pidsOf, type HealthSnapshot } from './health';
import type { ChaosKind, ChaosPlan } from './plan';

export interface ChaosEventRecord {
  /** 1-based; 0 is the time before the first event in per-event tables. */
  readonly index: number;
  readonly kind: ChaosKind;
  /** ms from the start of the measured window to the signal. */
  readonly atMs: number;
  /** What was signalled, for example `service echo pid 1234`. */
  readonly target: string;
  readonly pid: number | undefined;
  /** ms from the signal until `/healthz` showed the process replaced and every process up; absent when that did not happen. */
  readonly recoveredMs?: number;
  /** Why the event could not be run, or did not recover. */
  readonly error?: string;
}

/** How long an event may take to recover before it is reported as not recovered. */
export const RECOVERY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

/** What the controller does to processes; a test may substitute it. */
export type Signaller = (pid: number, signal: NodeJS.Signals) => void;

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  process.kill(pid, signal);
}

interface Chosen {
  readonly pid: number;
  readonly target: string;
  readonly recovered: (snapshot: HealthSnapshot) => boolean;
}

/**
 * The process the `occurrence`-th event of `kind` (0-based) acts on, and how
 * to tell it recovered; throws when there is none.
 */
export function choose(kind: ChaosKind, plan: ChaosPlan, snapshot: HealthSnapshot, occurrence: number): Chosen {
  const healthy = (snapshot: HealthSnapshot): boolean => snapshot.status === 200;
  switch (kind) {
    case 'service': {
      // Services in rotation, and each one's instances in rotation as its turns come.
      const service = plan.services[occurrence % plan.services.length] as string;
      const pids = pidsOf(snapshot, 'service', service);
      if (pids.length === 0) throw new Error(`no running instance of service "${service}" in /healthz`);
      const pid = pids[Math.floor(occurrence / plan.services.length) % pids.length] as number;
      return { pid, target: `service ${service} pid ${pid}`, recovered: (now) => healthy(now) && !pidsOf(now, 'service', service).includes(pid) && pidsOf(now, 'service', service).length >= pids.length };
    }
    case 'worker': {
      const pids = pidsOf(snapshot, 'worker');
      if (pids.length === 0) throw new Error('no running worker in /healthz');
      const pid = pids[occurrence % pids.length] as number;
      return { pid, target: `worker pid ${pid}`, recovered: (now) => healthy(now) && !pidsOf(now, 'worker').includes(pid) };
    }
    case 'reload': {
      const [pid] = pidsOf(snapshot, 'master');
      if (pid === undefined) throw new Error('no master in /healthz');
      const old = new Set([...pidsOf(snapshot, 'worker'), ...pidsOf(snapshot, 'service')]);
      return { pid, target: `master pid ${pid} (SIGHUP)`, recovered: (now) => healthy(now) && [...pidsOf(now, 'worker'), ...pidsOf(now, 'service')].every((child) => !old.has(child)) };
    }
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown chaos kind ${String(unreachable)}`);
    }
  }
}

export class ChaosController {
  private readonly records: ChaosEventRecord[] = [];
  /** Events of each kind so far: each kind rotates over its own targets. */
  private readonly occurrences = new Map<ChaosKind, number>();
  private stopped = false;
  private running: Promise<void> | undefined;
  private finishedNow: (() => void) | undefined;
  /** Resolves once no event will start any more and the last one has recovered (plus, with `events` set, one interval). */
  readonly finished: Promise<void> = new Promise((resolve) => { this.finishedNow = resolve; });
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `onEvent(index)` is called just before event `index` signals its process,
   * so the load can count what follows against it.
   */
  constructor(
    private readonly plan: ChaosPlan,
    private readonly onEvent: (index: number) => void,
    private readonly signal: Signaller = signalProcess,
  ) {}

  /** Checks that `/healthz` answers and lists what the plan acts on; rejects with a clear reason otherwise. */
  async preflight(): Promise<void> {
    let snapshot: HealthSnapshot;
    try {
      snapshot = await fetchHealth(this.plan.healthUrl);
    } catch (error) {
      throw new Error(`--chaos needs the server's health endpoint (--health-url ${this.plan.healthUrl}): ${(error as Error).message}`);
    }
    for (const kind of new Set(this.plan.kinds)) {
      try {
        // Index i picks the i-th service: every one in the rotation must be there.
        for (let index = 0; index < (kind === 'service' ? this.plan.services.length : 1); index++) choose(kind, this.plan, snapshot, index);
      } catch (error) {
        throw new Error(`--chaos ${kind}: ${(error as Error).message} (${this.plan.healthUrl})`);
      }
    }
  }

  /**
   * Starts the schedule: event k at `k × intervalMs` after now (or, when the
   * previous event's recovery ran past that, as soon as it recovered), for
   * every k that leaves a whole interval before `untilMs` after now, so that
   * the load sees each event's consequences (a reload replaces its workers
   * over a second or more).
   */
  start(untilMs: number): void {
    const started = performance.now();
    this.running = this.loop(started, started + untilMs).finally(() => this.finishedNow?.());
  }

  private async loop(started: number, until: number): Promise<void> {
    const counted = this.plan.events > 0;
    for (let index = 1; !this.stopped; index++) {
      // An event that the previous one's recovery delayed runs at once, if a whole interval still follows it.
      const due = Math.max(started + index * this.plan.intervalMs, performance.now());
      if (counted ? index > this.plan.events : due + this.plan.intervalMs > until) break;
      await this.pause(due - performance.now());
      if (this.stopped) return;
      await this.runEvent(index, started);
    }
    // A counted run lets the load see the last event's aftermath for one interval.
    if (counted && !this.stopped) await this.pause(this.plan.intervalMs);
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async runEvent(index: number, started: number): Promise<void> {
    const kind = this.plan.kinds[(index - 1) % this.plan.kinds.length] as ChaosKind;
    const atMs = performance.now() - started;
    const occurrence = this.occurrences.get(kind) ?? 0;
    this.occurrences.set(kind, occurrence + 1);
    let chosen: Chosen;
    try {
      chosen = choose(kind, this.plan, await fetchHealth(this.plan.healthUrl), occurrence);
    } catch (error) {
      this.records.push({ index, kind, atMs, target: '-', pid: undefined, error: (error as Error).message });
      return;
    }
    this.onEvent(index);
    const signalled = performance.now();
    try {
      this.signal(chosen.pid, kind === 'reload' ? 'SIGHUP' : 'SIGKILL');
    } catch (error) {
      this.records.push({ index, kind, atMs, target: chosen.target, pid: chosen.pid, error: `could not signal it: ${(error as Error).message}` });
      return;
    }
    const deadline = signalled + RECOVERY_TIMEOUT_MS;
    let lastError = 'not recovered';
    while (performance.now() < deadline) {
      await sleep(POLL_MS);
      try {
        if (chosen.recovered(await fetchHealth(this.plan.healthUrl))) {
          this.records.push({ index, kind, atMs, target: chosen.target, pid: chosen.pid, recoveredMs: performance.now() - signalled });
          return;
        }
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    this.records.push({ index, kind, atMs, target: chosen.target, pid: chosen.pid, error: `not recovered within ${RECOVERY_TIMEOUT_MS} ms (${lastError})` });
  }

  /** Stops scheduling; resolves with every event once the one under way (if any) has recovered or timed out. */
  async stop(): Promise<readonly ChaosEventRecord[]> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
    this.finishedNow?.();
    return this.records;
  }
}
