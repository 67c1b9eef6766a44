/**
 * The resume gate of a (re)started instance: it handles no client message or
 * close (connects pass) until every worker it expects has resumed its
 * clients, or until a deadline.
 *
 * Why: a new instance starts with no subscriptions. Each worker's link
 * independently says hello, re-announces its topics (`interest`, several
 * instances) and its clients (`connect` with `resumed: true`, on which the
 * service subscribes them again), then replays the events it held. Without
 * the gate, one worker's replayed messages — which may publish — could be
 * handled before another worker's clients are subscribed again, and those
 * subscribers would miss them silently (docs/soak.md, finding 1).
 *
 * A worker has resumed once its link's `resumeEnd` arrived (sent after its
 * resumed connects and interest reports) and every `onConnect` from it that
 * started while the gate waits has settled. The expected workers are those the master admitted when it
 * forked this instance (`linkKey`, later `admitWorker`s before the gate was
 * made); one revoked (it exited) is no longer expected. The deadline starts
 * with the first message from any worker, so an instance that waits for its
 * links (a reload's old instance still stopping) does not spend it; a worker
 * that has not resumed by then is served as any worker linking late is.
 *
 * Connects pass, resumed or not: a connect is its client's first event, so
 * running it ahead of what waits keeps every client's order. That matters for
 * a client whose `onConnect` the dead instance ran (it subscribed it) but
 * never acknowledged: its worker replays that connect as a new one, after its
 * `resumeEnd`, among its unacknowledged events. Held, it would run after the
 * other workers' held messages and its client would miss what they publish
 * (the flaky resume-gate test, seen on Node 24). For the same reason the gate
 * opens one turn after its conditions are met, not at once: a worker's replay
 * comes in one batch, handled in one turn, and a connect after its
 * `resumeEnd` is counted before the gate can open.
 *
 * What waits: client messages and closes, and requests (HTTP, and the HTTP
 * app's publishes), in arrival order. The events are
 * bounded by each worker's hold bound (a worker never has more than
 * `ipcMaxQueuedMessages` events and `ipcMaxQueuedBytes` bytes
 * unacknowledged, and the gate acknowledges nothing); requests by
 * `maxRequests` in all, past which the caller refuses them (503).
 */
import type { WorkerToService } from '../protocol';

/** One message the gate holds, with the worker whose link brought it. */
export interface HeldMessage {
  readonly worker: number;
  readonly message: WorkerToService;
}

/** What the gate answers for a message: handle it now, it waits, or refuse it (a request past the bound). */
export type GateVerdict = 'handle' | 'held' | 'refuse';

/** Why the gate opened: every expected worker resumed, the deadline passed, or the instance stops. */
export type GateOpening = 'resumed' | 'deadline' | 'stop';

export interface ResumeGateOptions {
  /** Workers expected to resume. */
  readonly workers: Iterable<number>;
  /** How long after the first message from a worker the gate waits at most, in ms. */
  readonly timeoutMs: number;
  /** Most requests held at once; further ones are refused. */
  readonly maxRequests: number;
  /** The gate opened: `held` is everything that waited, in arrival order, for the caller to handle; `late` the workers that had not resumed. */
  readonly opened: (held: readonly HeldMessage[], why: GateOpening, late: readonly number[]) => void;
}

/** One expected worker's resume on its current link: a new link starts a new one. */
interface Resume {
  ended: boolean;
  /** `onConnect`s (resumed or new) started while the gate waits and not settled yet. */
  unsettled: number;
}

export class ResumeGate {
  private readonly resumes = new Map<number, Resume>();
  private held: HeldMessage[] = [];
  private requests = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The check one turn after the conditions were met (see the top of the file). */
  private check: NodeJS.Immediate | undefined;
  private readonly checkNow = (): void => {
    this.check = undefined;
    if (this.resumed()) this.openNow('resumed');
  };
  private isOpen = false;

  constructor(private readonly options: ResumeGateOptions) {
    for (const worker of options.workers) this.resumes.set(worker, { ended: false, unsettled: 0 });
  }

  /** Opens at once when no worker is expected (a first start): call after construction. */
  start(): void {
    if (this.resumes.size === 0) this.openNow('resumed');
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** What to do with `message` from `worker` while the gate is closed. Resumes pass; the rest waits. */
  admit(worker: number, message: WorkerToService): GateVerdict {
    if (this.timer === undefined && !this.isOpen) {
      this.timer = setTimeout(() => this.openNow('deadline'), this.options.timeoutMs);
    }
    switch (message.type) {
      case 'hello':
      case 'interest':
      case 'resumeEnd':
      case 'connect':
        return 'handle';
      case 'message':
      case 'closed':
        return this.hold(worker, message);
      case 'request':
      case 'publish':
        if (this.requests >= this.options.maxRequests) return 'refuse';
        this.requests++;
        return this.hold(worker, message);
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * An `onConnect` from `worker` starts while the gate waits, of a resumed
   * client or of a new one (a connect replayed after `resumeEnd` among them):
   * the returned function is to be called once it has settled. Undefined when
   * the gate does not wait for it (open, or the worker is not expected).
   */
  connectStarted(worker: number): (() => void) | undefined {
    const resume = this.resumes.get(worker);
    if (resume === undefined || this.isOpen) return undefined;
    resume.unsettled++;
    return () => {
      // A resume of a link that closed meanwhile is not the current one: nothing to count.
      if (this.resumes.get(worker) !== resume) return;
      resume.unsettled--;
      this.openIfResumed();
    };
  }

  /** `worker`'s link has sent all its resumes. */
  resumeEnded(worker: number): void {
    const resume = this.resumes.get(worker);
    if (resume === undefined) return;
    resume.ended = true;
    this.openIfResumed();
  }

  /**
   * `worker`'s link closed. What it had waiting here is dropped: its worker
   * still holds those events unacknowledged and sends them again on its next
   * link (or its clients are gone with it); its requests were answered by the
   * worker when the link went. It is expected to resume afresh on that link.
   */
  linkClosed(worker: number): void {
    if (this.held.some((h) => h.worker === worker)) {
      const kept: HeldMessage[] = [];
      for (const entry of this.held) {
        if (entry.worker !== worker) kept.push(entry);
        else if (entry.message.type === 'request' || entry.message.type === 'publish') this.requests--;
      }
      this.held = kept;
    }
    if (this.resumes.has(worker)) this.resumes.set(worker, { ended: false, unsettled: 0 });
  }

  /** `worker` exited: it is no longer waited for. */
  revoked(worker: number): void {
    if (this.resumes.delete(worker)) this.openIfResumed();
  }

  /** Opens now (the instance stops): everything held goes to `opened`. */
  stop(): void {
    this.openNow('stop');
  }

  private hold(worker: number, message: WorkerToService): GateVerdict {
    this.held.push({ worker, message });
    return 'held';
  }

  /** Every expected worker has resumed: the gate opens on the next turn, unless a connect of that turn is still running then. */
  private openIfResumed(): void {
    if (this.isOpen || this.check !== undefined || !this.resumed()) return;
    this.check = setImmediate(this.checkNow);
  }

  private resumed(): boolean {
    for (const resume of this.resumes.values()) if (!resume.ended || resume.unsettled > 0) return false;
    return true;
  }

  private openNow(why: GateOpening): void {
    if (this.isOpen) return;
    this.isOpen = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.check);
    this.check = undefined;
    const late: number[] = [];
    for (const [worker, resume] of this.resumes) if (!resume.ended || resume.unsettled > 0) late.push(worker);
    const held = this.held;
    this.held = [];
    this.requests = 0;
    this.options.opened(held, why, late);
  }
}
