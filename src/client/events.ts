/**
 * A typed event emitter small enough for a browser bundle (STYLE habit 7):
 * the event map names each event's one argument, listeners are plain named
 * functions removed with `off`. A listener that throws does not break the
 * client's state machine: the error is rethrown on a fresh task, where the
 * host reports it as uncaught.
 */
export type Listener<T> = (value: T) => void;

export class TypedEmitter<Events extends object> {
  #listeners: { [K in keyof Events]?: Array<Listener<Events[K]>> } = {};

  /** Adds `listener` for `event`; returns `this`. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    (this.#listeners[event] ??= []).push(listener);
    return this;
  }

  /** Removes one registration of `listener` for `event`; returns `this`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners[event];
    const index = list === undefined ? -1 : list.indexOf(listener);
    if (index !== -1) list?.splice(index, 1);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const list = this.#listeners[event];
    if (list === undefined) return;
    // A copy: a listener may remove itself (or others) while we iterate.
    for (const listener of list.slice()) {
      try {
        listener(value);
      } catch (error) {
        setTimeout(rethrow, 0, error);
      }
    }
  }
}

function rethrow(error: unknown): never {
  throw error;
}
