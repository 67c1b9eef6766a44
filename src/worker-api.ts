/**
 * `switchyard/worker`: what the user's own HTTP app (option `http`) can do
 * with the services from inside a worker — call a service's `onRequest`, and
 * publish to one of its topics (the classic "POST /notify, then push to the
 * WebSocket subscribers"). See docs/http-app.md.
 *
 * ```js
 * import { services } from 'switchyard/worker';
 * app.post('/notify', async (req, res) => {
 *   const reached = await services.publish('chat', 'room:lobby', JSON.stringify({ type: 'notice', text: 'hi' }));
 *   res.json({ reached });
 * });
 * ```
 *
 * The worker installs the implementation once it has loaded the app, before
 * the app's first request (so call it from routes, not while the module
 * loads); it lives on `globalThis` under a registered symbol, so an app that imports another
 * copy of this package (dist from a `.mjs` file, src under ts-node) reaches
 * the same one. Outside a worker every call rejects with `SY_ERR_INVALID_STATE`.
 */
import { SwitchyardError } from './errors';

/** A call to a service's `onRequest`, as an HTTP request to `/services/<name><path>` would make it (without its authentication). */
export interface ServiceCall {
  /** Default `'GET'`. */
  readonly method?: string;
  /** The path below the service, from `/`. Default `'/'`. */
  readonly path?: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Lower-case names. Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A string (text) or a Buffer. Default empty. */
  readonly body?: string | Buffer;
  /** The identity `onRequest` sees as `request.user` / `request.claims` (the app authenticated the caller itself). */
  readonly user?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** What `onRequest` answered, as the HTTP response it would be. */
export interface ServiceAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A string for text and JSON, a Buffer for binary bodies. */
  readonly body: string | Buffer;
}

export interface WorkerServices {
  /**
   * Calls `onRequest` of `service`. Resolves with its answer (error statuses
   * included: a thrown `RequestError` is a 4xx/5xx answer); rejects with
   * `SY_ERR_SERVICE_UNAVAILABLE` while the service is down or its link is
   * full, `SY_ERR_REQUEST_TIMEOUT` after `requestTimeout`,
   * `SY_ERR_INVALID_ARGUMENT` for a service that is not configured.
   */
  request(service: string, call?: ServiceCall): Promise<ServiceAnswer>;
  /**
   * Publishes `data` (a string: a text frame; a Buffer: a binary one) to
   * `topic` of `service`, as the service's own `publish` would: once to each
   * worker that holds a subscriber, none when nobody is subscribed. Resolves
   * with how many subscribers it goes to; rejects as `request` does, and with
   * `SY_ERR_INVALID_ARGUMENT` for a bad topic.
   */
  publish(service: string, topic: string, data: string | Buffer): Promise<number>;
}

const REGISTRY = Symbol.for('switchyard.workerServices');

type Registry = typeof globalThis & { [REGISTRY]?: WorkerServices };

/** @internal Installed by the worker before the `http` app serves its first request. */
export function installWorkerServices(implementation: WorkerServices): void {
  (globalThis as Registry)[REGISTRY] = implementation;
}

function current(): WorkerServices {
  const implementation = (globalThis as Registry)[REGISTRY];
  if (implementation === undefined) throw new SwitchyardError('SY_ERR_INVALID_STATE', 'switchyard/worker works only inside a Switchyard worker (the `http` app)');
  return implementation;
}

/** The services of this cluster, as seen from the worker's own HTTP app. */
export const services: WorkerServices = {
  request: (service, call) => {
    try {
      return current().request(service, call);
    } catch (error) {
      return Promise.reject(error);
    }
  },
  publish: (service, topic, data) => {
    try {
      return current().publish(service, topic, data);
    } catch (error) {
      return Promise.reject(error);
    }
  },
};
