/**
 * A connected client as a service sees it, and how the host makes one from
 * what a link carries. Its own module because both the `Service` class (its
 * handlers) and the requests it answers (`ServiceRequest`, whose `client` it
 * is) name it, and `service.ts` imports `request.ts`.
 */
import { sharedIfEmpty, type ClientInfo } from '../protocol';

/** A connected client as a service sees it. */
export interface Client extends ClientInfo {
  /** True when the client connected before this service instance started (the service was restarted). */
  readonly resumed: boolean;
}

/** A client as the service keeps it, for as long as it is connected: one shape, and no empty objects of its own. */
export function clientFromInfo(info: ClientInfo, resumed: boolean): Client {
  const client: Client = {
    id: info.id,
    service: info.service,
    path: info.path,
    query: sharedIfEmpty(info.query),
    headers: sharedIfEmpty(info.headers),
    remoteAddress: info.remoteAddress,
    resumed,
  };
  // Only authenticated clients carry the identity fields: without an authenticator the shape (and memory) is unchanged.
  if (info.user === undefined) return client;
  return info.claims === undefined ? { ...client, user: info.user } : { ...client, user: info.user, claims: info.claims };
}
