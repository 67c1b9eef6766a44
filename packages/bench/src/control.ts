/**
 * How a scenario running in one generator process talks to whoever
 * coordinates the run: the parent process over IPC, or a local stand-in.
 */
export interface ShardControl {
  /** Reports this shard connected; resolves once every shard is, so the load starts together. */
  ready(): Promise<void>;
  /** connect: every connection of this shard has opened or failed (the hold begins). */
  held(): void;
  /** The cumulative count so far (replies, deliveries or connections), for the progress line. */
  progress(count: number): void;
  /** echo, fanout: the measured window starts or ends (lets a caller sample server CPU over exactly that window). */
  window(phase: WindowPhase): void;
  /** `--chaos`: the index of the chaos event under way (0 before the first), to count damage against. */
  chaosEvent(): number;
  /** `--chaos`: resolves once the chaos controller has run its last event (the load may stop then, not before). */
  chaosDone(): Promise<void>;
}

export type WindowPhase = 'start' | 'end';

/** Control for a run in this one process. */
export function localControl(
  onProgress: (count: number) => void = () => {},
  onHeld: () => void = () => {},
  onWindow: (phase: WindowPhase) => void = () => {},
  chaosEvent: () => number = () => 0,
  chaosDone: () => Promise<void> = () => Promise.resolve(),
): ShardControl {
  return { ready: () => Promise.resolve(), held: onHeld, progress: onProgress, window: onWindow, chaosEvent, chaosDone };
}

/** µs of user+system CPU this process used since `since`. */
export function cpuMicrosSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/**
 * The measured window of a run: after `warmupMs` it tells the control its
 * start and begins counting this process's CPU; `end()` tells the end and
 * returns the µs of CPU used inside the window (all of the run's when it ends
 * before the warm-up did).
 */
export function measuredWindow(control: ShardControl, warmupMs: number): { end(): number } {
  let cpuStart = process.cpuUsage();
  const timer = setTimeout(() => {
    cpuStart = process.cpuUsage();
    control.window('start');
  }, warmupMs);
  return {
    end(): number {
      const cpuMicros = cpuMicrosSince(cpuStart);
      control.window('end');
      clearTimeout(timer);
      return cpuMicros;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` every 10 ms until it holds or `timeoutMs` passes; resolves with whether it held. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Calls `report` every `everyMs` until the returned stop function is called. */
export function every(everyMs: number, report: () => void): () => void {
  const timer = setInterval(report, everyMs);
  return () => clearInterval(timer);
}
