/**
 * Runs one service instance: turns protocol messages from the master into
 * handler calls and the service's actions into protocol messages.
 *
 * Per-client order: the events of one client run one after another, each
 * waiting until the previous handler (sync or async) has settled; different
 * clients run concurrently. A handler that throws or rejects is logged and
 * counted; the service keeps running.
 */
import type { MasterToService, Payload, ServiceToMaster } from '../protocol';
import { decodePayload } from '../protocol';
import type { Client, Service } from './service';
import { Service as ServiceBase } from './service';
import type { Logger } from '../logger';

type Task = () => unknown;

interface Lane {
  busy: boolean;
  readonly backlog: Task[];
}

export interface ServiceHostStats {
  handlerErrors: number;
  unknownClientEvents: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class ServiceHost {
  readonly stats: ServiceHostStats = { handlerErrors: 0, unknownClientEvents: 0 };
  private readonly clients: Map<string, Client>;
  private readonly lanes = new Map<string, Lane>();
  private idleWaiters: Array<() => void> = [];
  private stopping = false;

  constructor(
    private readonly service: Service,
    private readonly name: string,
    private readonly emit: (message: ServiceToMaster) => void,
    private readonly log: Logger,
  ) {
    this.clients = ServiceBase.attach(service, name, {
      send: (id: string, payload: Payload) => this.emit({ type: 'send', id, ...payload }),
      broadcast: (payload: Payload, except: readonly string[] | undefined) =>
        this.emit(except === undefined || except.length === 0 ? { type: 'broadcast', ...payload } : { type: 'broadcast', except, ...payload }),
      close: (id: string, code: number, reason: string) => this.emit({ type: 'close', id, code, reason }),
    });
  }

  /** Runs `onStart`; rejects with whatever it threw. */
  async start(): Promise<void> {
    await this.service.onStart();
  }

  handle(message: MasterToService): void {
    switch (message.type) {
      case 'connect': {
        const client: Client = { ...message.client, resumed: message.resumed === true };
        if (this.clients.has(client.id)) {
          this.stats.unknownClientEvents++;
          this.log.warn({ client: client.id }, 'duplicate connect ignored');
          return;
        }
        this.clients.set(client.id, client);
        this.lanes.set(client.id, { busy: false, backlog: [] });
        this.run(client.id, () => this.service.onConnect(client));
        return;
      }
      case 'message': {
        const client = this.clients.get(message.id);
        if (client === undefined) return this.unknownClient(message.id, 'message');
        const data = decodePayload(message);
        this.run(client.id, () => this.service.onMessage(client, data));
        return;
      }
      case 'close': {
        const client = this.clients.get(message.id);
        if (client === undefined) return this.unknownClient(message.id, 'close');
        // Gone from `clients` at once, so nothing is sent to it from here on.
        this.clients.delete(client.id);
        const { code, reason } = message;
        this.run(client.id, () => this.service.onClose(client, code, reason), () => this.lanes.delete(client.id));
        return;
      }
      case 'stop':
        void this.stop();
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Waits for running handlers, runs `onStop`, then reports `stopped`. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.whenIdle();
    try {
      await this.service.onStop();
    } catch (error) {
      this.stats.handlerErrors++;
      this.log.error({ err: error, handler: 'onStop' }, 'service handler failed');
    }
    this.emit({ type: 'stopped' });
  }

  /** Resolves once no handler is running or waiting. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    for (const lane of this.lanes.values()) if (lane.busy) return false;
    return true;
  }

  private unknownClient(id: string, event: string): void {
    this.stats.unknownClientEvents++;
    this.log.warn({ client: id, event }, 'event for an unknown client ignored');
  }

  private run(id: string, task: Task, after?: () => void): void {
    const lane = this.lanes.get(id);
    if (lane === undefined) return;
    const wrapped: Task = after === undefined ? task : () => {
      try {
        const result = task();
        return isThenable(result) ? Promise.resolve(result).finally(after) : (after(), result);
      } catch (error) {
        after();
        throw error;
      }
    };
    if (lane.busy) {
      lane.backlog.push(wrapped);
      return;
    }
    this.drain(id, lane, wrapped);
  }

  /** Runs `task` and then the lane's backlog, pausing at each pending promise. */
  private drain(id: string, lane: Lane, first: Task): void {
    let task: Task | undefined = first;
    while (task !== undefined) {
      let result: unknown;
      try {
        result = task();
      } catch (error) {
        this.handlerFailed(id, error);
      }
      if (isThenable(result)) {
        lane.busy = true;
        result.then(
          () => this.resume(id, lane),
          (error: unknown) => {
            this.handlerFailed(id, error);
            this.resume(id, lane);
          },
        );
        return;
      }
      task = lane.backlog.shift();
    }
    this.notifyIfIdle();
  }

  private resume(id: string, lane: Lane): void {
    lane.busy = false;
    const next = lane.backlog.shift();
    if (next !== undefined) this.drain(id, lane, next);
    else this.notifyIfIdle();
  }

  private handlerFailed(id: string, error: unknown): void {
    this.stats.handlerErrors++;
    this.log.error({ err: error, service: this.name, client: id }, 'service handler failed');
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
