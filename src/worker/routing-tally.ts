/**
 * The routing counters one worker keeps itself and reports to the master in
 * its status: intake counts refusals, delivery counts dropped addresses, the
 * HTTP side counts refused requests. `linkQueueFull` is not kept here: it is
 * read from the links at report time.
 */
import type { RoutingCounters } from '../protocol';

/** One mutable counter per field of `RoutingCounters` but `linkQueueFull`. */
export type RoutingTally = { -readonly [K in Exclude<keyof RoutingCounters, 'linkQueueFull'>]: number };

/** A tally at zero. */
export function routingTally(): RoutingTally {
  return { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, requestsRefused: 0 };
}
