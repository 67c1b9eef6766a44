/**
 * A connected client as a service sees it. Its own module because both the
 * `Service` class (its handlers) and the requests it answers (`ServiceRequest`,
 * whose `client` it is) name it, and `service.ts` imports `request.ts`.
 */
import type { ClientInfo } from '../protocol';

/** A connected client as a service sees it. */
export interface Client extends ClientInfo {
  /** True when the client connected before this service instance started (the service was restarted). */
  readonly resumed: boolean;
}
