/**
 * The worker's side of `switchyard/worker` (src/worker-api.ts): the user's
 * HTTP app calls a service's `onRequest`, or has a service publish to a
 * topic, over this worker's link to it. Both are paired by `rid` with the
 * worker's HTTP requests to services (http-routes.ts), so they share its
 * timeout (`requestTimeout`) and its cancellation (instance gone, stop).
 */
import { SwitchyardError } from '../errors';
import { decodePayload, encodePayload, type Payload } from '../protocol';
import type { ServiceAnswer, ServiceCall, WorkerServices } from '../worker-api';
import type { HttpRoutes, ServiceResponse } from './http-routes';
import type { ShardSource } from '../shard-key';
import type { ServiceLink } from './service-link';

export interface AppServicesDeps {
  readonly routes: Pick<HttpRoutes, 'callService'>;
  /** Whether this worker routes to a service of that name. */
  readonly knows: (service: string) => boolean;
  /** The live instance a call with these fields goes to (by the service's shard key, else round-robin), or undefined when none is up. */
  readonly linkFor: (service: string, fields: ShardSource) => ServiceLink | undefined;
  /** A call went out over `link`: it is cancelled at once if that instance goes (a sibling does not answer it). */
  readonly sent: (service: string, link: ServiceLink, rid: string) => void;
  readonly requestTimeout: number;
}

function unavailable(service: string, busy: boolean): SwitchyardError {
  return new SwitchyardError('SY_ERR_SERVICE_UNAVAILABLE', busy ? `service "${service}": its link is full, try again later` : `service "${service}" is not available`);
}

export class AppServices implements WorkerServices {
  constructor(private readonly deps: AppServicesDeps) {}

  request(service: string, call: ServiceCall = {}): Promise<ServiceAnswer> {
    const body = call.body ?? '';
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) return Promise.reject(new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'call.body must be a string or a Buffer'));
    const payload = encodePayload(body);
    const identity = call.user === undefined ? {} : call.claims === undefined ? { user: call.user } : { user: call.user, claims: call.claims };
    return this.call(service, { query: call.query ?? {}, headers: call.headers ?? {} }, (link, rid) =>
      link.request({ rid, method: call.method ?? 'GET', path: call.path ?? '/', query: call.query ?? {}, headers: call.headers ?? {}, ...identity, ...payload }),
    ).then((response) => ({ status: response.status, headers: response.headers, body: decodePayload(response) }));
  }

  publish(service: string, topic: string, data: string | Buffer): Promise<number> {
    // Its bounds are the service's to check (it answers 400); a worker does not import the services' code.
    if (typeof topic !== 'string' || topic.length === 0) return Promise.reject(new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'a topic must be a non-empty string'));
    if (typeof data !== 'string' && !Buffer.isBuffer(data)) return Promise.reject(new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'data must be a string or a Buffer'));
    const payload: Payload = encodePayload(data);
    return this.call(service, NO_SHARD_KEY, (link, rid) => link.publish({ rid, topic, ...payload })).then((response) => {
      const answer = decodePayload(response).toString();
      if (response.status !== 200) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `service "${service}" refused the publish: ${answer}`);
      return Number(answer);
    });
  }

  private call(service: string, fields: ShardSource, send: (link: ServiceLink, rid: string) => boolean): Promise<ServiceResponse> {
    if (!this.deps.knows(service)) return Promise.reject(new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `no service "${service}"`));
    return new Promise((resolve, reject) => {
      const outcome = this.deps.routes.callService(
        service,
        (rid) => {
          const link = this.deps.linkFor(service, fields);
          if (link === undefined) return 'unavailable';
          if (!send(link, rid)) return 'busy';
          this.deps.sent(service, link, rid);
          return 'sent';
        },
        {
          onReply: resolve,
          onTimeout: () => reject(new SwitchyardError('SY_ERR_REQUEST_TIMEOUT', `service "${service}" did not answer within ${this.deps.requestTimeout} ms`)),
          onCancel: () => reject(unavailable(service, false)),
        },
      );
      if (outcome === 'sent') return;
      reject(outcome === 'unknown' ? new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `no service "${service}"`) : unavailable(service, outcome === 'busy'));
    });
  }
}

/** A publish carries no shard key: any live instance publishes it to every subscriber. */
const NO_SHARD_KEY: ShardSource = { query: {}, headers: {} };
