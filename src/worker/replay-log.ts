/**
 * What one worker's link (`service-link.ts`) keeps for its service instance
 * so that nothing a client did is lost or reordered, whichever instance dies
 * when: every client event, numbered, until an instance acknowledged it, and
 * the clients some instance knows. The link owns the connection and its
 * states; this log owns the events and what each new connection is replayed.
 * Separate because the two change for different reasons: the link's states
 * follow the sockets and the master's announcements, the log follows the
 * events and their acks.
 *
 * Every client event — connect, message, close — gets a sequence number and
 * stays in `unacked` until the service reports that its handler (`onConnect`,
 * `onMessage`, `onClose`) has settled; while the link is not up new events
 * wait there too, unsent. A client is `known` once an instance acknowledged
 * its connect, until one acknowledged its close. On each new connection
 * (`replay`) the instance gets `connect` (with `resumed: true`) for every
 * known client, then `resumeEnd` (the instance waits for every worker's
 * before it handles events, so no worker's replay runs before another's
 * resumes), then every unacknowledged event in order — messages an instance
 * received but did not finish marked `redelivered`, unless it said it never
 * handled them. The bound (the IPC limits) covers messages and connects; past
 * it `message()` and `connect()` refuse, and the worker closes that client
 * with 1013. Closes pass it: there is at most one per connect.
 *
 * A poison event — one that kills every instance it reaches — would be
 * replayed into a crash loop and fail the service for everyone. So each event
 * counts the instances that went away while it was sent and unacknowledged
 * (a retire does not count: that instance stopped without handling it); at
 * `maxDeliveries` it is quarantined: it and everything its client still has
 * here are dropped, and the worker closes that client with 1011 "message
 * quarantined" (`onQuarantined`). Events that were merely in flight beside
 * the poison count too, but only one that was beside it at every one of those
 * deaths reaches the limit with it.
 *
 * On the worker's hottest path (`message()`): one allocation per message, no
 * closure; the link passes the queue to send on (undefined while it is not
 * up) rather than the log asking for it.
 */
import type { IpcLimits } from '../child-env';
import type { BatchQueue } from '../ipc/batch-queue';
import type { Logger } from '../logger';
import { MESSAGE_OVERHEAD, approximateSize, type ClientInfo, type WorkerToService } from '../protocol';
import { ThrottledWarning } from '../throttled-log';

/** The link's bounds: the IPC limits, and how often an event may go down with an instance before it is quarantined. */
export interface LinkLimits extends IpcLimits {
  readonly maxDeliveries: number;
}

/** The queue of the link's connection while it is up; undefined while it is not (events are then only kept). */
type Outbox = BatchQueue<WorkerToService> | undefined;

type SequencedMessage = Extract<WorkerToService, { type: 'message' }>;
type SequencedEvent = Extract<WorkerToService, { type: 'message' | 'closed' } | { type: 'connect'; seq: number }>;

interface Unacked {
  readonly message: SequencedEvent;
  readonly size: number;
  /** The connection (generation) it was last sent on; 0 when not sent yet. */
  sentTo: number;
  /** The instance it was sent to retired without handling it: resend it unmarked. */
  unhandled: boolean;
  /** Instances that went away (not retired) while it was sent to them and unacknowledged. */
  lost: number;
}

export class ReplayLog {
  private nextSeq = 1;
  private readonly unacked = new Map<number, Unacked>();
  private unackedBytes = 0;
  /** Since when the events in `unacked` have waited with no acknowledgement (epoch ms); meaningful while it is not empty. */
  private waitingSinceValue = 0;
  /** Clients whose connect an instance acknowledged and whose close none has yet: replayed as resumed. */
  private readonly known = new Map<string, ClientInfo>();
  /** The link's connections so far; an entry's `sentTo` names one of them. */
  private generation = 0;
  /**
   * Quarantined clients whose close has not been reported yet: what they
   * still send is dropped (they were told with 1011); the value says whether
   * their close is reported to the service (false: no instance acknowledged
   * their connect, so none knows them). An entry goes with the client's close,
   * which the worker's 1011 brings promptly.
   */
  private readonly quarantined = new Map<string, boolean>();
  private quarantinedCount = 0;
  /** Each quarantine follows `maxDeliveries` crashes, but many clients may send a poison at once. */
  private readonly quarantineWarning: ThrottledWarning;

  constructor(
    private readonly service: string,
    private readonly limits: LinkLimits,
    private readonly log: Logger,
  ) {
    this.quarantineWarning = new ThrottledWarning(log, 'client event quarantined: every instance it was delivered to died; its client is closed with 1011');
  }

  /** Client events not acknowledged yet: in flight, being handled, or held while the link is not up. */
  get size(): number {
    return this.unacked.size;
  }

  /** The number of the last event numbered: read right after `connect()` or `message()` accepted one, that event's. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Since when nothing was acknowledged (epoch ms); meaningful while `size` is not 0. */
  get waitingSince(): number {
    return this.waitingSinceValue;
  }

  /** Clients quarantined over the link's life (one poison event each). */
  get quarantinedClients(): number {
    return this.quarantinedCount;
  }

  /** Whether event `seq` still waits for its acknowledgement (held, in flight or being handled). */
  isPending(seq: number): boolean {
    return this.unacked.has(seq);
  }

  /** Numbers and keeps a new client's connect, sent on `outbox` if given; false at the bound. */
  connect(client: ClientInfo, outbox: Outbox): boolean {
    if (this.unacked.size >= this.limits.maxMessages) return false;
    this.keep({ type: 'connect', client, seq: this.nextSeq++ }, MESSAGE_OVERHEAD, outbox);
    return true;
  }

  /** Numbers and keeps a client message, sent on `outbox` if given; false at the bound. */
  message(id: string, data: string | Buffer, binary: boolean, ts: number | undefined, outbox: Outbox): boolean {
    // Sent before the client got its 1011: dropped, as the rest of its events were.
    if (this.quarantined.size !== 0 && this.quarantined.has(id)) return true;
    const size = data.length + MESSAGE_OVERHEAD;
    if (this.unacked.size >= this.limits.maxMessages || this.unackedBytes + size > this.limits.maxBytes) return false;
    const seq = this.nextSeq++;
    // Built field by field: one allocation on the hottest path of the worker.
    const message: SequencedMessage =
      binary
        ? ts === undefined
          ? { type: 'message', id, seq, data, binary: true }
          : { type: 'message', id, seq, data, binary: true, ts }
        : ts === undefined
          ? { type: 'message', id, seq, data }
          : { type: 'message', id, seq, data, ts };
    this.keep(message, size, outbox);
    return true;
  }

  /** Numbers and keeps a client's close, past the bound; not at all when its client was quarantined before any instance knew it. */
  closed(id: string, code: number, reason: string, outbox: Outbox): void {
    const reported = this.quarantined.get(id);
    if (reported !== undefined) {
      this.quarantined.delete(id);
      if (!reported) return;
    }
    this.keep({ type: 'closed', id, code, reason, seq: this.nextSeq++ }, MESSAGE_OVERHEAD, outbox);
  }

  /** The instance acknowledged `seqs`: they are forgotten, and their clients known or no longer known. */
  acknowledge(seqs: readonly number[]): void {
    // Any acknowledgement is progress: what still waits has waited since now.
    if (seqs.length > 0) this.waitingSinceValue = Date.now();
    for (const seq of seqs) {
      const entry = this.unacked.get(seq);
      if (entry === undefined) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
      const { message } = entry;
      if (message.type === 'connect') this.known.set(message.client.id, message.client);
      else if (message.type === 'closed') this.known.delete(message.id);
    }
  }

  /**
   * A new connection (after its hello): every known client as a resumed
   * connect, `resumeEnd`, then every unacknowledged event in order.
   */
  replay(outbox: BatchQueue<WorkerToService>): void {
    this.generation++;
    for (const client of this.known.values()) {
      const resume: WorkerToService = { type: 'connect', client, resumed: true };
      outbox.push(resume, approximateSize(resume), true);
    }
    // Everything this instance must know before it handles anyone's events (resume-gate.ts): the events follow.
    outbox.push({ type: 'resumeEnd' }, MESSAGE_OVERHEAD, true);
    let redelivered = 0;
    let held = 0;
    for (const entry of this.unacked.values()) {
      if (entry.sentTo === 0) held++;
      else if (!entry.unhandled) redelivered++;
      this.send(entry, outbox);
    }
    if (this.known.size > 0 || redelivered > 0 || held > 0) {
      this.log.info({ service: this.service, clients: this.known.size, redelivered, held }, 'service link up; clients resumed');
    }
  }

  /** The instance retired: what it was sent and did not acknowledge goes to the next one unmarked. */
  markUnhandled(): void {
    for (const entry of this.unacked.values()) if (entry.sentTo !== 0) entry.unhandled = true;
  }

  /** The clients the instance had here: those it knows, and those whose connect it was sent. */
  clientsOfInstance(): Set<string> {
    const ids = new Set(this.known.keys());
    for (const entry of this.unacked.values()) if (entry.message.type === 'connect' && entry.sentTo !== 0) ids.add(entry.message.client.id);
    return ids;
  }

  /** The service failed: everything kept is dropped. */
  clear(): void {
    this.unacked.clear();
    this.unackedBytes = 0;
    this.known.clear();
    this.quarantined.clear();
  }

  /**
   * The instance went away while up: every event sent to it and left
   * unacknowledged went down with it once more. Those at `maxDeliveries` are
   * quarantined, with their clients, before anything is replayed. Returns
   * the clients to close with 1011 when some event reached the limit (a
   * client whose poison was its close is gone already, and not in it);
   * undefined when none did. (One that retired took the link down first, so
   * its socket's close is not counted.)
   */
  countLost(): string[] | undefined {
    // Client id → the type of its (first) event at the limit, for the log line.
    let poisoned: Map<string, SequencedEvent['type']> | undefined;
    for (const entry of this.unacked.values()) {
      if (entry.sentTo !== this.generation) continue;
      entry.lost++;
      if (entry.lost < this.limits.maxDeliveries) continue;
      poisoned ??= new Map();
      const id = clientOf(entry.message);
      if (!poisoned.has(id)) poisoned.set(id, entry.message.type);
    }
    if (poisoned === undefined) return undefined;
    const toClose: string[] = [];
    for (const [id, event] of poisoned) if (this.quarantine(id, event)) toClose.push(id);
    return toClose;
  }

  /** Drops everything client `id` has here; the next instance hears nothing of it but its close. True when the client is still to be closed. */
  private quarantine(id: string, event: SequencedEvent['type']): boolean {
    let closeDropped = false;
    let dropped = 0;
    for (const [seq, entry] of this.unacked) {
      if (clientOf(entry.message) !== id) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
      if (entry.message.type === 'closed') closeDropped = true;
      dropped++;
    }
    this.quarantinedCount++;
    this.quarantineWarning.warn({ service: this.service, client: id, event, deliveries: this.limits.maxDeliveries, dropped });
    if (closeDropped) {
      // The client is gone already and its onClose was the poison: no instance hears of it again.
      this.known.delete(id);
      return false;
    }
    // A client whose connect was never acknowledged (it may be the poison) is known to no instance: its close is not reported either.
    this.quarantined.set(id, this.known.has(id));
    return true;
  }

  private keep(message: SequencedEvent, size: number, outbox: Outbox): void {
    const entry: Unacked = { message, size, sentTo: 0, unhandled: false, lost: 0 };
    // The first event to wait starts the clock; later ones wait behind it.
    if (this.unacked.size === 0) this.waitingSinceValue = Date.now();
    this.unacked.set(message.seq, entry);
    this.unackedBytes += size;
    if (outbox !== undefined) this.send(entry, outbox);
  }

  private send(entry: Unacked, outbox: BatchQueue<WorkerToService>): void {
    const { message } = entry;
    const resent = entry.sentTo !== 0 && !entry.unhandled;
    entry.sentTo = this.generation;
    entry.unhandled = false;
    // The bound is enforced on `unacked`, which covers this queue.
    if (message.type !== 'message') outbox.push(message, entry.size, true, true);
    else outbox.push(resent ? { ...message, redelivered: true } : message, entry.size, true);
  }
}

/** The client an event is about. */
function clientOf(message: SequencedEvent): string {
  return message.type === 'connect' ? message.client.id : message.id;
}
