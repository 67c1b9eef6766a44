/**
 * The routing counters one worker keeps itself and reports to the master in
 * its status: intake counts refusals, delivery counts dropped addresses, the
 * HTTP side counts refused requests. `linkQueueFull` is not kept here: it is
 * read from the links at report time.
 */
import type { RoutingCounters } from '../protocol';

/** The counters a tally keeps. */
export type RoutingCounterName = Exclude<keyof RoutingCounters, 'linkQueueFull'>;

export class RoutingTally {
  private readonly counts: { -readonly [K in RoutingCounterName]: number } = {
    foreignAddressDrops: 0,
    goneClientDrops: 0,
    serviceQueueFull: 0,
    requestsRefused: 0,
  };

  /** Counts one occurrence of `name`. */
  add(name: RoutingCounterName): void {
    this.counts[name]++;
  }

  /** How many of `name` so far. */
  get(name: RoutingCounterName): number {
    return this.counts[name];
  }

  /** Every counter, for a status report, with `linkQueueFull` read from the links. */
  counters(linkQueueFull: number): RoutingCounters {
    return { ...this.counts, linkQueueFull };
  }
}
