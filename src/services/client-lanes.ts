/**
 * Per-client order for a service instance: one lane per connected client. The
 * tasks of one lane run one after another, each waiting until the previous one
 * (sync or async) has settled; different lanes run concurrently. A task that
 * throws or rejects is reported to `failed` and the lane goes on with the next.
 * A task run with a timeout (an envelope request: `requestTimeout`) holds its
 * lane at most that long: then its `after` runs (the event is acknowledged),
 * the lane goes on, and the lane no longer counts as busy, so a stop does not
 * wait for it; whatever the task does later is reported as `late` and nothing
 * else. A task run without one (a plain message, a connect, a close) that
 * never settles holds its own lane forever, and nothing else (though `idle` is
 * never reported while it waits, so a stop waits for it, up to the stop
 * deadline). The owner opens a lane on connect and deletes it once the close
 * has run.
 */
import { runningHandler } from './running-handler';
import { settleWithin, type LateOutcome } from './deadline';

/** One unit of work in a lane: a handler call, and what follows it. */
export type Task = () => unknown;

/** What the lanes report to their owner. */
export interface ClientLanesHooks {
  /** A task threw or rejected; the lane goes on. */
  failed(id: string, error: unknown): void;
  /** An event that `call` ran has settled (resolved, rejected or thrown): the owner acknowledges it. */
  settled(worker: number, seq: number): void;
  /** The last busy lane has become free. */
  idle(): void;
  /** A task outlived its timeout: the lane has gone on without it. */
  expired(id: string): void;
  /** A task that outlived its timeout has settled; its outcome is ignored. */
  late(id: string, outcome: LateOutcome, error: unknown): void;
}

interface Lane {
  busy: boolean;
  /** Tasks waiting for the running one; made when the first one has to wait. */
  backlog: Task[] | undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class ClientLanes {
  /**
   * A client's lane, or null for an open lane with nothing running: the Lane
   * object is made when a task first has to be waited for and dropped when
   * the lane is free again, so an idle client costs its map entry alone.
   */
  private readonly lanes = new Map<string, Lane | null>();
  /** Lanes waiting on a pending promise; 0 means idle. */
  private busyLanes = 0;

  constructor(private readonly hooks: ClientLanesHooks) {}

  /** Whether no lane is waiting on a pending task. */
  get idle(): boolean {
    return this.busyLanes === 0;
  }

  has(id: string): boolean {
    return this.lanes.has(id);
  }

  /** Opens a lane for `id`, unless one is still there (its previous tasks run first). */
  open(id: string): void {
    if (!this.lanes.has(id)) this.lanes.set(id, null);
  }

  /** Removes the lane of `id`; a task it is running finishes, and later `run`s for `id` are ignored until it is opened again. */
  delete(id: string): void {
    this.lanes.delete(id);
  }

  /**
   * Runs `task` in the lane of `id` once the tasks before it have settled, then
   * `after` (even if it threw or rejected). With a `timeout` (ms, > 0), a task
   * still pending after it counts as settled: `expired` is reported, `after`
   * runs and the lane goes on. Nothing runs when `id` has no lane.
   */
  run(id: string, task: Task, after?: () => void, timeout = 0): void {
    const lane = this.lanes.get(id);
    if (lane === undefined) return;
    const wrapped: Task = after === undefined && timeout <= 0 ? task : () => {
      let result: unknown;
      try {
        result = task();
      } catch (error) {
        after?.();
        throw error;
      }
      if (!isThenable(result)) {
        after?.();
        return result;
      }
      const bounded = timeout > 0 ? this.bounded(id, result, timeout) : Promise.resolve(result);
      return after === undefined ? bounded : bounded.finally(after);
    };
    if (lane !== null && lane.busy) {
      (lane.backlog ??= []).push(wrapped);
      return;
    }
    this.drain(id, lane, wrapped);
  }

  /**
   * The hot path: `method.call(target, a, b, c)` in the lane of `id`, then
   * `settled(worker, seq)`. When the lane is free the call is made now with no
   * closure at all, and a sync handler is settled before this returns; only a
   * busy lane (or a pending result) costs closures.
   */
  call<T, A, B, C>(id: string, target: T, method: (this: T, a: A, b: B, c: C) => unknown, a: A, b: B, c: C, worker: number, seq: number): void {
    const lane = this.lanes.get(id);
    if (lane === undefined) return;
    if (lane !== null && lane.busy) {
      this.run(id, () => method.call(target, a, b, c), () => this.hooks.settled(worker, seq));
      return;
    }
    let result: unknown;
    runningHandler.client = id;
    try {
      result = method.call(target, a, b, c);
    } catch (error) {
      this.hooks.failed(id, error);
    } finally {
      runningHandler.client = undefined;
    }
    if (!isThenable(result)) return this.hooks.settled(worker, seq);
    const held = this.busy(id, lane);
    result.then(
      () => {
        this.hooks.settled(worker, seq);
        this.resume(id, held);
      },
      (error: unknown) => {
        this.hooks.failed(id, error);
        this.hooks.settled(worker, seq);
        this.resume(id, held);
      },
    );
  }

  /** Runs `first` and then the lane's backlog, pausing at each pending promise. */
  private drain(id: string, lane: Lane | null, first: Task): void {
    let task: Task | undefined = first;
    while (task !== undefined) {
      let result: unknown;
      runningHandler.client = id;
      try {
        result = task();
      } catch (error) {
        this.hooks.failed(id, error);
      } finally {
        runningHandler.client = undefined;
      }
      if (isThenable(result)) {
        const held = this.busy(id, lane);
        result.then(
          () => this.resume(id, held),
          (error: unknown) => {
            this.hooks.failed(id, error);
            this.resume(id, held);
          },
        );
        return;
      }
      task = lane?.backlog?.shift();
    }
  }

  /** `pending`, or a promise that resolves when `timeout` passes first (the lane's wait ends; the task may go on). */
  private bounded(id: string, pending: PromiseLike<unknown>, timeout: number): Promise<unknown> {
    return settleWithin(pending, timeout, {
      expired: () => this.hooks.expired(id),
      late: (outcome, error) => this.hooks.late(id, outcome, error),
    });
  }

  /** The lane waits on a pending task: its Lane object, made now for a free lane (kept in the map while it is still open). */
  private busy(id: string, lane: Lane | null): Lane {
    const held = lane ?? { busy: false, backlog: undefined };
    if (lane === null && this.lanes.get(id) === null) this.lanes.set(id, held);
    held.busy = true;
    this.busyLanes++;
    return held;
  }

  /** The lane's pending task settled: the next one runs, or the lane is free. */
  private resume(id: string, lane: Lane): void {
    lane.busy = false;
    this.busyLanes--;
    const next = lane.backlog?.shift();
    if (next !== undefined) this.drain(id, lane, next);
    // Free again with nothing waiting: back to no Lane object.
    if (!lane.busy && (lane.backlog === undefined || lane.backlog.length === 0) && this.lanes.get(id) === lane) this.lanes.set(id, null);
    if (this.busyLanes === 0) this.hooks.idle();
  }
}
