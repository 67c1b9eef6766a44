/**
 * What happens to the clients of a message that a worker's link queue refused
 * (issue 11, item 8): each one that missed it is closed with 1013 "service
 * backlog full", so that no client is left with a silent gap. A client id
 * names its worker, so a unicast `send` closes that client, and a broadcast
 * or a publish refused by one worker's link closes the service's clients (or
 * the topic's subscribers) on that worker, but none that `except` left out.
 *
 * The close is a `closeClient`, which a link's queue never refuses, and it is
 * queued behind what did fit: the client gets every message up to the gap,
 * then the close. At most one such close per client: a client is marked until
 * its `closed` event arrives (the mark set is bounded by the clients
 * connected), and nothing more is sent to a marked client.
 */
import { workerOfClientId } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { ServiceInternals } from './service';

/** The close reason a client gets when a message to it was dropped at a full link queue. */
export const BACKLOG_CLOSE_REASON = 'service backlog full';

/** Closes, once each, the clients that missed a refused message. */
export class BacklogCloser {
  /** Clients being closed for a dropped message, until their `closed` arrives. */
  private readonly closing = new Set<string>();
  /** Clients closed so, since this instance started. */
  closed = 0;

  constructor(
    private readonly internals: ServiceInternals,
    /** Queues a must-keep `closeClient` for `id` on `worker`'s link. */
    private readonly closeClient: (worker: number, id: string, code: number, reason: string) => void,
  ) {}

  /** Whether `id` is being closed for a dropped message: nothing more is sent to it. */
  isClosing(id: string): boolean {
    return this.closing.has(id);
  }

  /** A unicast message to `id`, a client of `worker`, was refused. */
  refusedSend(worker: number, id: string): void {
    this.close(worker, id);
  }

  /** A broadcast was refused by `worker`'s link: closes that worker's clients not in `except`; returns how many missed it. */
  refusedBroadcast(worker: number, except: readonly string[] | undefined): number {
    return this.closeOn(worker, this.internals.clients.keys(), except);
  }

  /** A publish to `topic` was refused by `worker`'s link: closes that worker's subscribers not in `except`; returns how many missed it. */
  refusedPublish(worker: number, topic: string, except: readonly string[] | undefined): number {
    return this.closeOn(worker, this.internals.topics.subscribers(topic).values(), except);
  }

  /** `id`'s close arrived (or it was never connected): its mark goes. */
  forget(id: string): void {
    this.closing.delete(id);
  }

  private closeOn(worker: number, ids: Iterable<string>, except: readonly string[] | undefined): number {
    const skipped = except === undefined || except.length === 0 ? undefined : new Set(except);
    // Collected first: a close must not change what is being iterated.
    const missed: string[] = [];
    for (const id of ids) if (workerOfClientId(id) === worker && skipped?.has(id) !== true) missed.push(id);
    for (const id of missed) this.close(worker, id);
    return missed.length;
  }

  private close(worker: number, id: string): void {
    if (this.closing.has(id) || !this.internals.clients.has(id)) return;
    this.closing.add(id);
    this.closed++;
    this.closeClient(worker, id, CLOSE_CODES.TRY_AGAIN_LATER, BACKLOG_CLOSE_REASON);
  }
}
