/**
 * Damage accounting for the numbered echo protocol (`--chaos`, the soak): pure
 * bookkeeping, no sockets. Each connection's lifetime is a *session* whose
 * messages are numbered 1, 2, 3 …; every reply names the number it answers
 * and whether the server marked it redelivered. From that alone a session
 * tells, per reply, whether it was new, reordered or a duplicate (marked or
 * not), and at its end which messages never got a reply:
 *
 * - **lost**: no reply although the connection stayed open (the run ended and
 *   the drain passed), or although a later message of the session was answered
 *   (a gap) — the server accepted it and dropped it;
 * - **cut**: no reply because the server closed or dropped the connection
 *   while it was in flight (a worker that dies, a reload's 1012): the client
 *   cannot know whether it was handled, which Switchyard documents as the
 *   unavoidable cost of a worker exit. Counted, not a loss.
 *
 * Counts go to whichever `DamageCounts` the caller passes: the chaos bench
 * passes the counts of the chaos event current at that moment, so each
 * event's damage is reported on its own line.
 */

export interface DamageCounts {
  /** Messages sent. */
  sent: number;
  /** Messages answered at least once. */
  answered: number;
  /** First replies that the server marked redelivered (handled by a new instance): not damage. */
  redelivered: number;
  /** Replies that arrived after a reply to a later message of their session. */
  reordered: number;
  /** Second or later replies to one message, marked redelivered by the server. */
  duplicatesMarked: number;
  /** Second or later replies to one message with no mark: a client could not tell them apart. */
  duplicatesUnmarked: number;
  /** Messages never answered while their connection stayed open (see the module comment). */
  lost: number;
  /** Messages in flight when the server closed or dropped their connection. */
  cut: number;
  /** Replies to a number the session never sent (a broken echo). */
  unsolicited: number;
  /** Connections closed or dropped by the server, and reopened by the generator. */
  disconnects: number;
  reconnects: number;
}

export function emptyDamage(): DamageCounts {
  return { sent: 0, answered: 0, redelivered: 0, reordered: 0, duplicatesMarked: 0, duplicatesUnmarked: 0, lost: 0, cut: 0, unsolicited: 0, disconnects: 0, reconnects: 0 };
}

/** The fields of `DamageCounts`, in report order. */
export const DAMAGE_FIELDS: readonly (keyof DamageCounts)[] = Object.keys(emptyDamage()) as (keyof DamageCounts)[];

export function addDamage(into: DamageCounts, from: Readonly<DamageCounts>): DamageCounts {
  for (const field of DAMAGE_FIELDS) into[field] += from[field];
  return into;
}

/** The damage that must be zero for a run to pass: loss, reordering, unmarked duplicates, replies to nothing. */
export function harmful(counts: Readonly<DamageCounts>): number {
  return counts.lost + counts.reordered + counts.duplicatesUnmarked + counts.unsolicited;
}

/** How a session ended, for what its unanswered messages count as. */
export type SessionEnd = 'open' | 'closed';

/**
 * One connection's numbered messages. Memory: answers are kept as the highest
 * number below which all were answered plus the set of answered numbers above
 * it, so an in-order session holds a handful of numbers whatever its length;
 * after a loss every later answer stays in the set until the session ends
 * (bounded by the session's messages: a run that loses is reported, not kept
 * going for long).
 */
export class EchoSession {
  private sentCount = 0;
  private contiguous = 0;
  private highest = 0;
  private readonly above = new Set<number>();
  private ended = false;

  /** Numbers the next message; `into.sent` counts it. */
  nextSeq(into: DamageCounts): number {
    into.sent++;
    return ++this.sentCount;
  }

  get sent(): number {
    return this.sentCount;
  }

  /** Messages not yet answered. */
  get outstanding(): number {
    return this.sentCount - this.contiguous - this.above.size;
  }

  private answeredSeq(seq: number): boolean {
    return seq <= this.contiguous || this.above.has(seq);
  }

  /** Accounts for a reply to message `seq` (`marked`: the server said redelivered). Returns whether it was its first reply. */
  reply(seq: number, marked: boolean, into: DamageCounts): boolean {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > this.sentCount) {
      into.unsolicited++;
      return false;
    }
    if (this.answeredSeq(seq)) {
      if (marked) into.duplicatesMarked++;
      else into.duplicatesUnmarked++;
      return false;
    }
    into.answered++;
    if (marked) into.redelivered++;
    if (seq < this.highest) into.reordered++;
    else this.highest = seq;
    if (seq === this.contiguous + 1) {
      this.contiguous = seq;
      while (this.above.delete(this.contiguous + 1)) this.contiguous++;
    } else {
      this.above.add(seq);
    }
    return true;
  }

  /**
   * Ends the session once: `'closed'` when the server closed or dropped the
   * connection, `'open'` when the run ended with it open. Unanswered messages
   * below the highest answered one are lost either way; those above it are
   * cut by a close, lost on an open connection.
   */
  end(how: SessionEnd, into: DamageCounts): void {
    if (this.ended) return;
    this.ended = true;
    // Every number in `above` is answered and at most `highest`: the rest of (contiguous, highest] was not.
    const gaps = this.highest - this.contiguous - this.above.size;
    const tail = this.sentCount - this.highest;
    into.lost += gaps;
    if (how === 'open') into.lost += tail;
    else into.cut += tail;
  }
}
