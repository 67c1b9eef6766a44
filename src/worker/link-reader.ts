/**
 * What a worker's link (`service-link.ts`) reads from its service instance,
 * checked at the border: each batch through the protocol guard (what fails
 * it, and unreadable lines, are counted and logged, throttled, never passed
 * on), acks to the replay log (`replay-log.ts`), the rest to the worker
 * (`onBatch`). A `retired` goes back to the link, whose state it changes; a
 * `sessionLost` becomes 1012 closes for the instance's clients here. Apart
 * from the link, which owns the connection and its states, because this is
 * the other direction: from a line read to the worker's handler.
 *
 * The reader's hooks are made once per link, not per connection; a batch
 * costs what the link's own listener cost before (one closure for the batch's
 * messages, one array).
 */
import { CLOSE_CODES } from '../errors';
import type { LineReaderHooks } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import type { ResetReason } from '../nats/reliable-channel';
import { isServiceToWorker, readBatch, type ServiceToWorker } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import type { ChannelConnection, ChannelConnectionHooks } from './link-channel';
import type { ReplayLog } from './replay-log';
import type { ServiceLink, ServiceLinkHooks } from './service-link';

/** What only the link can do or knows, for its reader. */
export interface LinkReaderOwner {
  /** The instance said it retires: it handles nothing more. */
  retired(): void;
  /** The link's NATS channel reset its session. */
  channelReset(connection: ChannelConnection, reason: ResetReason): void;
  /** The instance's endpoint, for the log. */
  endpoint(): string | undefined;
}

export class LinkReader {
  private rejectedCount = 0;
  /** A broken or hostile service can trigger these once per message or line: throttled. */
  private readonly malformedWarning: ThrottledWarning;
  private readonly unreadableWarning: ThrottledWarning;
  private readonly onBatchValue = (value: unknown): void => {
    const valid: ServiceToWorker[] = [];
    const rejected = readBatch(value, isServiceToWorker, (message) => {
      if (message.type === 'ack') this.events.acknowledge(message.seqs);
      else if (message.type === 'retired') this.owner.retired();
      else if (message.type === 'sessionLost') this.sessionLost(valid);
      else valid.push(message);
    });
    if (rejected > 0) {
      this.rejectedCount += rejected;
      this.malformedWarning.warn({ service: this.link.service, rejected });
    }
    this.hooks.onBatch(this.link, valid);
  };
  private readonly onMalformed = (error: Error): void => {
    this.rejectedCount++;
    this.unreadableWarning.warn({ err: error, service: this.link.service });
  };

  /** What a Unix socket's reader reports: a line past the bound or a bad raw segment cuts the link (socket-endpoint.ts). */
  readonly socketHooks: LineReaderHooks;
  /** What a NATS channel reports: the same, but a broken stream resets the channel's session instead. */
  readonly channelHooks: ChannelConnectionHooks;

  constructor(
    private readonly link: ServiceLink,
    private readonly hooks: ServiceLinkHooks,
    private readonly events: ReplayLog,
    private readonly owner: LinkReaderOwner,
    private readonly log: Logger,
  ) {
    this.malformedWarning = new ThrottledWarning(log, 'malformed messages from service ignored');
    this.unreadableWarning = new ThrottledWarning(log, 'unreadable line from service ignored');
    const { service } = link;
    this.socketHooks = {
      onValue: this.onBatchValue,
      onMalformed: this.onMalformed,
      onOverflow: (length) => this.log.error({ service, length }, 'service sent an oversized line; link cut'),
      onBadRaw: (reason) => this.log.error({ service, reason }, 'service sent a bad raw segment length; link cut'),
    };
    this.channelHooks = {
      onValue: this.onBatchValue,
      onMalformed: this.onMalformed,
      onOverflow: (length) => this.log.error({ service, length }, 'service sent an oversized line; channel reset'),
      onBadRaw: (reason) => this.log.error({ service, reason }, 'service sent a bad raw segment length; channel reset'),
      onReset: (connection, reason) => this.owner.channelReset(connection, reason),
    };
  }

  /** Messages (and unreadable lines) from the service that failed the protocol guard. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /**
   * The instance could not continue the channel's stream after a reset (it
   * no longer held what the ended session had not delivered): what it sent
   * to this worker's clients may be lost, so they are closed with 1012 and
   * reconnect (`into`: the batch's messages, which close them). Its clients
   * here are those it knows and those whose connect it was sent.
   */
  private sessionLost(into: ServiceToWorker[]): void {
    const ids = this.events.clientsOfInstance();
    this.log.warn({ service: this.link.service, endpoint: this.owner.endpoint(), clients: ids.size }, 'NATS link session lost: what the service sent may be lost; its clients here are closed with 1012');
    for (const id of ids) into.push({ type: 'closeClient', id, code: CLOSE_CODES.SERVICE_RESTART, reason: 'service link lost' });
  }
}
