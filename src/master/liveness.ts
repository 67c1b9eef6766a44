/**
 * Whether a running service is *live*: a process that is up may still be
 * stuck. Three signs, each against one deadline (`livenessTimeout`):
 *
 * - it answered no ping from the master (its event loop is blocked, or the
 *   process is stopped: SIGSTOP, a debugger, a swapped-out machine);
 * - events have waited for it at some worker and it acknowledged nothing
 *   (its handlers hang while its event loop runs: its clients will soon get
 *   1013 when the hold bound fills);
 * - some worker's link to it is not up (refused, broken): that worker's
 *   clients of it are held, not served.
 *
 * Pure: the master passes what it knows, and the same inputs give the same
 * answer (unit-tested with fake inputs in test/master/liveness.test.ts).
 */
import type { LinkLiveness } from '../protocol';

/** How often the master pings each running service: four pings per deadline, so one lost or late ping never makes it miss. */
export function pingInterval(livenessTimeout: number): number {
  return Math.max(1, Math.floor(livenessTimeout / 4));
}

/** One ready worker's view of a service, from its latest status report (undefined: it has not reported the link yet). */
export interface WorkerLinkView {
  readonly worker: number;
  readonly link: LinkLiveness | undefined;
  /** When the worker became ready (epoch ms): a worker that never reported is given the deadline from then. */
  readonly readySince: number;
}

/** What the master knows of one running service instance. */
export interface ServiceLivenessInput {
  /** When the running instance came online (epoch ms). */
  readonly onlineSince: number;
  /** When it last answered a ping (epoch ms); undefined when it has not yet. */
  readonly lastPong: number | undefined;
  readonly workers: readonly WorkerLinkView[];
}

/** One service's pings: a new instance starts the clock afresh, and the last one's pongs do not count. */
export class PingClock {
  private onlineAt = 0;
  private lastPong: number | undefined;

  /** A new instance came online (epoch ms now). */
  restart(): void {
    this.onlineAt = Date.now();
    this.lastPong = undefined;
  }

  /** The running instance answered a ping. */
  answered(): void {
    this.lastPong = Date.now();
  }

  get onlineSince(): number {
    return this.onlineAt;
  }

  get lastAnswer(): number | undefined {
    return this.lastPong;
  }
}

export type Liveness = { readonly live: true } | { readonly live: false; readonly reason: string };

const LIVE: Liveness = Object.freeze({ live: true });

/** Judges one online service at `now` (epoch ms); the first sign found is the reason given. */
export function serviceLiveness(input: ServiceLivenessInput, now: number, timeoutMs: number): Liveness {
  const sincePong = now - (input.lastPong ?? input.onlineSince);
  if (sincePong > timeoutMs) return { live: false, reason: `answered no ping for ${sincePong} ms (livenessTimeout ${timeoutMs} ms): its event loop is blocked or the process is stopped` };
  for (const { worker, link, readySince } of input.workers) {
    if (link === undefined) {
      const silent = now - Math.max(readySince, input.onlineSince);
      if (silent > timeoutMs) return { live: false, reason: `worker ${worker} has reported no link to it for ${silent} ms` };
      continue;
    }
    if (!link.up) {
      // Measured from the later of the link's change and the instance's start: a link waits for the instance it connects to.
      const down = now - Math.max(link.since, input.onlineSince);
      if (down > timeoutMs) return { live: false, reason: `worker ${worker}'s link to it has not been up for ${down} ms` };
      continue;
    }
    if (link.waitingSince !== undefined) {
      const waited = now - link.waitingSince;
      if (waited > timeoutMs) return { live: false, reason: `events have waited ${waited} ms at worker ${worker} with no acknowledgement: its handlers do not settle` };
    }
  }
  return LIVE;
}
