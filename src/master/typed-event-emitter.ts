/**
 * An EventEmitter that takes only the events of its map (STYLE habit 7).
 * Node's own `EventEmitter<Events>` typing lets any name through
 * (`on<K>(event: K | keyof Events, …)` infers K from the name): a misspelt
 * `on('redy', …)` fails only as an unreadable "not assignable to never",
 * and `listenerCount`/`removeAllListeners` take any name. These overrides
 * narrow every name to the map's keys (the error lists the valid ones), and
 * the declarations they emit do not depend on the user's @types/node having
 * a generic EventEmitter. At run time they only call EventEmitter's own
 * methods.
 */
import { EventEmitter } from 'node:events';

/** Event name → the arguments its listeners get. */
export type EventArgs<Events> = { [K in keyof Events]: unknown[] };

type ListenerOf<Events extends EventArgs<Events>, K extends keyof Events> = (...args: Events[K]) => void;
type AnyListener = (...args: unknown[]) => void;

export class TypedEventEmitter<Events extends EventArgs<Events>> extends EventEmitter {
  override on<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.on(event, listener as AnyListener);
  }

  override once<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.once(event, listener as AnyListener);
  }

  override off<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.off(event, listener as AnyListener);
  }

  override addListener<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.addListener(event, listener as AnyListener);
  }

  override removeListener<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.removeListener(event, listener as AnyListener);
  }

  override prependListener<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.prependListener(event, listener as AnyListener);
  }

  override prependOnceListener<K extends keyof Events & string>(event: K, listener: ListenerOf<Events, K>): this {
    return super.prependOnceListener(event, listener as AnyListener);
  }

  override emit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    return super.emit(event, ...args);
  }

  override listenerCount<K extends keyof Events & string>(event: K): number {
    return super.listenerCount(event);
  }

  override removeAllListeners(event?: keyof Events & string): this {
    return event === undefined ? super.removeAllListeners() : super.removeAllListeners(event);
  }
}
