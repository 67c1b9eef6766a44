/**
 * The service host's acknowledgements to the workers' links: an event is
 * acknowledged once its handler settled (the link then forgets it, see
 * `worker/replay-log.ts`), and the acks of one event-loop turn leave in one
 * message per worker. Separate from the host because its one subtlety is
 * about writes, not handlers: when the flush is scheduled decides whether the
 * acks share their replies' write (`due`).
 */
import type { ServiceToWorker } from '../protocol';

/** Where the acks go: a worker's link (false when there is none, or its queue is full). */
export interface AckPort {
  toWorker(worker: number, message: ServiceToWorker): boolean;
}

export class AckBatch {
  /** Acks waiting for the end of this event-loop turn, per worker. */
  private readonly pending = new Map<number, number[]>();
  private scheduled = false;
  /** Sends what is pending, one message per worker; also called directly, by a retire before its `retired`. */
  readonly flush = (): void => {
    this.scheduled = false;
    for (const [worker, seqs] of this.pending) this.ports.toWorker(worker, { type: 'ack', seqs });
    this.pending.clear();
  };

  constructor(private readonly ports: AckPort) {}

  /** Acknowledges a handled message; acks leave in one message per worker and event-loop turn. */
  add(worker: number, seq: number): void {
    this.due();
    const seqs = this.pending.get(worker);
    if (seqs === undefined) this.pending.set(worker, [seq]);
    else seqs.push(seq);
  }

  /**
   * Schedules the flush of this turn's acks. Called when a client event
   * arrives, before its handler runs, so that the flush comes ahead of the
   * link write its replies schedule (immediates run in order): the acks of
   * handlers that settle in this turn join their replies' write, after them,
   * instead of a second write (and a second wakeup of the worker) a turn
   * later. A flush with nothing to acknowledge sends nothing.
   */
  due(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Sends `worker`'s pending acks now (its link is closing), ahead of the turn's flush. */
  flushWorker(worker: number): void {
    const seqs = this.pending.get(worker);
    if (seqs === undefined) return;
    this.pending.delete(worker);
    this.ports.toWorker(worker, { type: 'ack', seqs });
  }
}
