/**
 * What every soak load shares: the chaos event under way (0 before the first)
 * and per-event counters that grow as events happen.
 */

/** Written by the soak's chaos controller, read by the loads. */
export interface Phase {
  index: number;
}

/** One counters object per chaos event, created as events happen. */
export class PerEvent<T> {
  private readonly items: T[] = [];

  constructor(private readonly phase: Phase, private readonly create: () => T) {}

  /** The counters of the event under way. */
  now(): T {
    return this.at(this.phase.index);
  }

  at(index: number): T {
    for (let i = this.items.length; i <= index; i++) this.items.push(this.create());
    return this.items[index] as T;
  }

  get length(): number {
    return this.items.length;
  }
}
