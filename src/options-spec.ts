/**
 * What each option is: its type, bounds, default and one line of docs, in one
 * table (`OPTION_SPECS`). The known keys, the generic validation in
 * `resolveOptions()`, the worker's copy of its limits (`child-env.ts`) and the
 * table in docs/options.md are all derived from it; `SwitchyardOptions` keeps
 * its TSDoc for library users and is checked against the table by the
 * compiler in both directions (a key in one and not the other fails to build).
 */
import type { JsonSchema } from './json-schema';
import type { ClusterOptions } from './nats/cluster-options';
import { MAX_PAYLOAD_BYTES } from './protocol';

/** How new connections are spread over the workers; see `SwitchyardOptions.balancing`. */
export type Balancing = 'round-robin' | 'kernel' | 'kernel-fair' | 'reuse-port' | 'auto';

export const BALANCING_MODES: readonly Balancing[] = ['round-robin', 'kernel', 'kernel-fair', 'reuse-port', 'auto'];

/**
 * Where the built-in JWT authenticator looks for a token, in order (the
 * first found is verified): `header:authorization` (the `Bearer` scheme; any
 * other header name takes its whole value), `query:<name>`, `cookie:<name>`,
 * or `protocol` (an entry `bearer.<token>` of `Sec-WebSocket-Protocol`).
 */
export type TokenSource = 'protocol' | `header:${string}` | `query:${string}` | `cookie:${string}`;

/** The built-in JWT authenticator (`jose`); see `SwitchyardOptions.jwt` and docs/authentication.md. */
export interface JwtOptions {
  /** Shared secret for HS256/HS384/HS512 (UTF-8). Exactly one of `secret`, `publicKey`, `jwksFile`. */
  readonly secret?: string;
  /** PEM file (SPKI public key or X.509 certificate) for RS*, PS*, ES* or EdDSA; relative to `cwd`. */
  readonly publicKey?: string;
  /** A local JWKS file (`{ "keys": [...] }`), keys picked by `kid`; relative to `cwd`. */
  readonly jwksFile?: string;
  /** Algorithms accepted. Default `['HS256']` with `secret`, else `['RS256', 'ES256']`. */
  readonly algorithms?: readonly string[];
  /** Required `aud` (one of them). Default: not checked. */
  readonly audience?: string | readonly string[];
  /** Required `iss` (one of them). Default: not checked. */
  readonly issuer?: string | readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default `0`. */
  readonly clockTolerance?: number;
  /** Where the token is looked for, in order. Default `['header:authorization', 'protocol', 'cookie:token', 'query:token']`. */
  readonly from?: readonly TokenSource[];
  /** The claim that names the user (a non-empty string). Default `'sub'`. */
  readonly userClaim?: string;
}

/**
 * PEM files for HTTPS and `wss://` on the workers' port; relative paths
 * resolve against `cwd`. Read by the master at start and at every reload.
 */
export interface TlsOptions {
  /** The certificate chain (leaf first), PEM. */
  readonly cert: string;
  /** The private key of `cert`, PEM (encrypted with `passphrase`, if given). */
  readonly key: string;
  /** Extra CA certificates (PEM) to send in the chain, or to trust for client certificates; none by default. */
  readonly ca?: string;
  /** Passphrase of an encrypted `key`; none by default. */
  readonly passphrase?: string;
}

/** The header trusted proxies put the client address in; see `SwitchyardOptions.forwardedHeader`. */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export const FORWARDED_HEADERS: readonly ForwardedHeader[] = ['x-forwarded-for', 'forwarded'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** At which level each HTTP request a worker answers is logged, or `'off'`. */
export type AccessLogLevel = 'debug' | 'info' | 'off';

export const ACCESS_LOG_LEVELS: readonly AccessLogLevel[] = ['debug', 'info', 'off'];

/** A service in its object form (`services.<name>`); the string form is `{ module }`. */
export interface ServiceDefinition {
  /** Path of the module whose default export extends `Service` (or a `file:` URL, as a string or a `URL`). */
  readonly module: string | URL;
  /** Processes that run it, 1 to 64. Default `1`. */
  readonly instances?: number;
  /** What places a client on an instance: `'client'`, `'query:<name>'` or `'header:<name>'`. Default `'client'`. */
  readonly shardBy?: string;
  /** With `cluster`: the node every instance runs on. Not with `nodes`. Ignored without `cluster` (every instance runs here). */
  readonly node?: string;
  /** With `cluster`: instance `i` runs on `nodes[i % nodes.length]`. Not with `node`. Ignored without `cluster`. */
  readonly nodes?: readonly string[];
}

export interface SwitchyardOptions {
  /** TCP port to listen on; 0 picks a free one. Default `8080`. */
  readonly port?: number;
  /** Address to bind. Default `'0.0.0.0'`. */
  readonly host?: string;
  /** Number of client-handling worker processes. Default `os.availableParallelism()`. */
  readonly workers?: number;
  /**
   * Services by name: the value is the path of a module whose default export
   * extends `Service` (one instance), or `{ module, instances, shardBy }` to
   * run it as `instances` processes (1 to 64, default 1), each client owned by
   * the one its shard key maps to: `shardBy` is `'client'` (the default),
   * `'query:<name>'`, `'header:<name>'` or `'user'` (the authenticated user) (see docs/instances.md). Relative
   * paths resolve against `cwd`; a `file:` URL (a string or a `URL`, such as
   * `new URL('./chat.mjs', import.meta.url)`) names a file too. Default: the bundled examples, `echo` and `chat`.
   */
  readonly services?: Readonly<Record<string, string | URL | ServiceDefinition>>;
  /** Default `'info'`. */
  readonly logLevel?: LogLevel;
  /**
   * Log lines through pino-pretty (colours, one readable line each) instead
   * of JSON, in every process: for development. pino-pretty is an optional
   * peer dependency (`npm install --save-dev pino-pretty`), loaded only when
   * this is set; without it the option is refused. Default `false`.
   */
  readonly logPretty?: boolean;
  /**
   * One line per HTTP request a worker answers (`method`, `path`, `status`,
   * `ms`, `address`; `aborted` when the connection ended first), at this
   * level: `'debug'`, `'info'` or `'off'`. Costs nothing unless `logLevel`
   * lets the lines through. Default `'debug'`.
   */
  readonly accessLog?: AccessLogLevel;
  /** Request headers passed to `onConnect`. Default `['origin', 'user-agent', 'accept-language']`. */
  readonly forwardHeaders?: readonly string[];
  /** Largest WebSocket message accepted, in bytes (at most 48 MiB); larger ones close with 1009. Default 1 MiB. */
  readonly maxPayload?: number;
  /** How long `listen()` waits for every process to be ready, in ms (at least 1000). Default `30000`. */
  readonly startTimeout?: number;
  /** How long `close()` waits for processes to exit before SIGKILL, in ms (at least 1000). Default `10000`. */
  readonly stopTimeout?: number;
  /** First delay before restarting a crashed process, in ms (at least 10); doubles per crash. Default `100`. */
  readonly restartDelay?: number;
  /** Longest delay between restarts, in ms (at least 10, and at least `restartDelay`). Default `10000`. */
  readonly maxRestartDelay?: number;
  /** Crashes within `crashLoopWindow` after which a service is not restarted again (marked failed). Default `5`. */
  readonly crashLoopCount?: number;
  /** Window for `crashLoopCount`, in ms (at least 1000). Default `60000`. */
  readonly crashLoopWindow?: number;
  /**
   * Deliveries of one client event (connect, message, close) to service
   * instances that died before acknowledging it, after which the event is
   * quarantined instead of redelivered: dropped with its client's other held
   * events, counted in `switchyard_quarantined_total`, and its client closed
   * with 1011 "message quarantined". Keep it below `crashLoopCount`, so that a
   * poison message costs one client, not the service. Default `3`.
   */
  readonly maxDeliveries?: number;
  /**
   * Most messages one IPC queue holds while its channel is busy. A service
   * message a worker's link queue refuses closes the clients that miss it with
   * 1013 "service backlog full" (`Service.drained()` avoids it). Default `100000`.
   */
  readonly ipcMaxQueuedMessages?: number;
  /**
   * Most payload bytes one IPC queue holds while its channel is busy; keep it
   * above the largest message a link may carry. Default 64 MiB.
   */
  readonly ipcMaxQueuedBytes?: number;
  /** Directory relative service paths resolve against. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Path of the health endpoint (plain GET), or `false` to turn it off. Default `'/healthz'`. */
  readonly healthPath?: string | false;
  /** Path of the Prometheus endpoint (plain GET), or `false` to turn it off. Default `'/metrics'`. */
  readonly metricsPath?: string | false;
  /**
   * Path of the readiness endpoint (plain GET), or `false` to turn it off: 503
   * while any process is not up or any service is not live (see
   * `livenessTimeout`). Default `'/readyz'`.
   */
  readonly readyPath?: string | false;
  /**
   * How long, in ms (at least 1000), a running service may go without
   * answering the master's ping (sent every quarter of it), or without
   * acknowledging anything while events wait for it at a worker, before it
   * is not live (`/readyz` 503); also how long a worker's link to a running
   * service may stay not up, and how long a restarted instance waits at most
   * for every worker to resume its clients before it handles their events
   * (docs/failure-semantics.md). Default `5000`.
   */
  readonly livenessTimeout?: number;
  /**
   * How long one gathered `/metrics` result answers later scrapes, in ms: a
   * flood of scrapes then costs the master at most one gather of every
   * process per window; `0` gathers for every scrape. Keep it well under the
   * scrape interval. Default `1000`.
   */
  readonly metricsCacheMs?: number;
  /**
   * How long a request to a service may take, in ms (at least 100): HTTP
   * answers 504 after it, the envelope an error; from then on the client's
   * next events, a stop and a reload no longer wait for the handler, and its
   * late result is ignored. Default `10000`.
   */
  readonly requestTimeout?: number;
  /** Largest HTTP request body for a service, in bytes (at most 48 MiB); larger gets 413. Default 1 MiB. */
  readonly maxRequestBody?: number;
  /**
   * How long a plain HTTP request may take in all, from its first byte to the
   * last byte of its body, in ms (node:http's `requestTimeout`; at least
   * `handshakeTimeout` is used). A slower one gets 408 and its connection is
   * closed. Default `30000`.
   */
  readonly requestBodyTimeout?: number;
  /**
   * Longest pause between two chunks of a request body for a service, in ms;
   * a body that stalls longer gets 408 and its connection is closed. Default
   * `10000`.
   */
  readonly requestBodyIdleTimeout?: number;
  /**
   * Most request-body bytes one worker buffers at once, over all its requests
   * to services (at least `maxRequestBody`). A body that does not fit, by its
   * `Content-Length` or as its bytes arrive, gets 503 with `Retry-After` and
   * its connection is closed. Default 64 MiB.
   */
  readonly maxBufferedRequestBytes?: number;
  /**
   * Most plain HTTP (not WebSocket) connections one worker holds from one
   * remote address, counted from a connection's first request until it
   * closes; a request on a further one gets 429 with `Retry-After` and its
   * connection is closed. Default `256`.
   */
  readonly maxHttpConnectionsPerIp?: number;
  /**
   * Folder of files the workers serve over plain HTTP GET/HEAD (`/` serves
   * `index.html`), e.g. the demo chat page. A string resolves against `cwd`;
   * `false` turns static serving off. Service paths are never shadowed.
   * Default: the bundled `public/` folder when a service named `chat` is
   * configured, else `false`. A filesystem root, the home folder or a folder
   * above it is refused (it would serve `/etc/passwd` or `~/.ssh`); a folder
   * outside `cwd` is served, with a warning at start.
   */
  readonly staticDir?: string | false;
  /**
   * Most bytes waiting to be written to one client (`ws.bufferedAmount`),
   * checked before each message is queued: a message sent while more than
   * this is still waiting closes the client with 1013 (a slow consumer); one
   * message larger than this, to a client that keeps up, does not. A client
   * that cannot take the close is terminated after a short grace. Default 4 MiB.
   */
  readonly maxBufferedBytes?: number;
  /**
   * Every this many ms each worker pings all its clients; a client that has
   * not answered the previous ping is terminated (its service sees 1006).
   * `0` turns heartbeats off; otherwise at least 1000 (a client must be able
   * to answer within one interval). Default `30000`.
   */
  readonly heartbeatInterval?: number;
  /** A client that sends no message for this many ms is closed with 1000 "idle timeout". `0` turns it off; otherwise at least 1000. Default `0`. */
  readonly idleTimeout?: number;
  /**
   * How long, in ms, a worker may hold its answer to a client's Close (or
   * the 1002 close of a protocol error) so that the replies to the messages
   * the client sent before it are written first: the close goes out once
   * every earlier message has been handled, or when this grace ends. The
   * same bound holds a stopping or reloading worker's own 1001/1012 to a
   * client with replies on their way (and there at most half the worker's
   * stop deadline; a client with nothing in flight is closed at once). `0`
   * answers at once (replies still on their way are lost). Default `1000`.
   */
  readonly closeGrace?: number;
  /**
   * How long a connection may take to send complete HTTP request headers
   * (node:http's `headersTimeout`, which also covers upgrade requests), in
   * ms (at least 500); slower ones get 408. Default `10000`.
   */
  readonly handshakeTimeout?: number;
  /** Most WebSocket clients one worker holds; further upgrades get 503 with `Retry-After`. Default `10000`. */
  readonly maxConnectionsPerWorker?: number;
  /**
   * Most WebSocket clients one worker holds from one remote address (counted
   * per worker, not per cluster); further upgrades get 429 with
   * `Retry-After`. Default `1000`.
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * Messages one client may send per second, with bursts of as many (a token
   * bucket); beyond it the client is closed with 1008 "rate limit". `0` turns
   * it off. Default `1000`.
   */
  readonly maxMessagesPerSecond?: number;
  /**
   * Origins (exact, e.g. `'https://example.com'`) whose pages may open a
   * WebSocket; an upgrade with another or no `Origin` header gets 403.
   * `'*'` allows any. Default `'*'`.
   */
  readonly allowedOrigins?: '*' | readonly string[];
  /** Whether clients may negotiate permessage-deflate (costs CPU and memory per socket). Default `false`. */
  readonly perMessageDeflate?: boolean;
  /**
   * Bytes a client that negotiated permessage-deflate may deliver per second,
   * counted after inflation, with bursts of as many or of `maxPayload`,
   * whichever is larger (a token bucket): a 1 KB compressed frame may inflate
   * to `maxPayload`, so its wire bytes bound nothing. Beyond it the client is
   * closed with 1008 "inflate rate limit" and its further messages are
   * dropped. Clients without compression are not counted. `0` turns it off.
   * Default 8 MiB.
   */
  readonly maxInflatedBytesPerSecond?: number;
  /** Largest HTTP request head, in bytes (node:http's `maxHeaderSize`); larger gets 431. Default 16 KiB. */
  readonly maxHeaderSize?: number;
  /**
   * How new connections reach the workers. `'round-robin'`: the master accepts
   * each connection and hands it to the next worker in turn (even spread,
   * but every accept costs the master a syscall and an IPC hand-off).
   * `'kernel'`: the workers accept from the shared socket themselves (faster
   * connection storms, less master CPU, but the spread over workers is uneven
   * and stays so for the life of the connections). `'kernel-fair'`: as
   * `'kernel'`, but each worker accepts one connection per wakeup and then
   * yields for a moment (libuv's `UV_TCP_SINGLE_ACCEPT`), so the others get
   * their share: an even spread at nearly `'kernel'`'s cost per connection
   * (docs/bench.md#balancing). Node's cluster fixes round-robin or not once
   * per process: the first server started in a process decides.
   * `'reuse-port'`: each worker listens on its own SO_REUSEPORT socket and the
   * kernel spreads connections over them (even spread at kernel speed, no
   * master on the path); needs Node 22.12+ or 23.1+ on Linux or FreeBSD, and
   * is refused at start elsewhere. A stopping worker's socket resets the
   * connections queued on it (a few per rolling reload) unless Linux's
   * `net.ipv4.tcp_migrate_req` is 1. `'auto'`: `'reuse-port'` where the
   * runtime has it and that setting is 1, `'kernel-fair'` otherwise.
   * Default `'auto'`.
   */
  readonly balancing?: Balancing;
  /**
   * Path (relative to `cwd`) or `file:` URL of a module (ESM or CommonJS,
   * loaded by every worker with `import()`, `.ts` through tsx, ts-node or
   * Node's type stripping) whose default export
   * authenticates each WebSocket upgrade and each HTTP request to
   * `/services/<name>` before it reaches a service: a function of `{ method,
   * path, query, headers, cookies, remoteAddress }` returning (or resolving
   * to) `{ user, claims? }`, or throwing a `RequestError` to refuse. It has
   * `handshakeTimeout` to answer; at most `maxConcurrentAuth` calls run per
   * worker. Not with `jwt`. See docs/authentication.md. Default `false`.
   */
  readonly authenticate?: string | URL | false;
  /** The built-in JWT authenticator (see `JwtOptions`); not with `authenticate`. Default `false`. */
  readonly jwt?: JwtOptions | false;
  /**
   * Most authenticator calls one worker runs at once; a further upgrade or
   * request gets 503 with `Retry-After`. Default `128`.
   */
  readonly maxConcurrentAuth?: number;
  /** Largest `claims` of one identity, serialized as JSON; a larger identity is refused with 500 (logged). Default 4 KiB. */
  readonly maxClaimsBytes?: number;
  /**
   * Path (relative to `cwd`) or `file:` URL of a module (loaded by every
   * worker with `import()`) whose default export is a request handler `(req, res)` (an
   * Express app is one) or a factory `(api) => handler` given the in-worker
   * services API: it serves the plain HTTP requests Switchyard's own routes
   * do not. See docs/http-app.md. Default `false`.
   */
  readonly http?: string | URL | false;
  /**
   * Serve HTTPS and `wss://` on the one port instead of plain HTTP: PEM file
   * paths `{ cert, key, ca?, passphrase? }` (relative to `cwd`), read by the
   * master at start and at every `reload()` / `reloadTls()`; a file that
   * cannot be read or used fails the start (`SY_ERR_TLS_CERT`). A plain HTTP
   * request or `ws://` upgrade on the port gets HTTP 400. `false` serves
   * plain HTTP. Default `false`.
   */
  readonly tls?: TlsOptions | false;
  /**
   * Proxies whose forwarded client address is believed: IP addresses, CIDR
   * ranges (`'10.0.0.0/8'`) or proxy-addr's presets `'loopback'`,
   * `'linklocal'`, `'uniquelocal'`. A request from one of them is taken to
   * come from the address it forwarded (in `forwardedHeader`), hop by hop
   * while the hops are trusted: `client.remoteAddress`, the per-address
   * limits and the log lines use it. `false` trusts no proxy and reads no
   * header. Default `false`.
   */
  readonly trustProxy?: false | string | readonly string[];
  /**
   * Which header the trusted proxies set: `'x-forwarded-for'` (nginx,
   * HAProxy, cloud load balancers) or `'forwarded'` (RFC 7239). Only that one
   * is read: a proxy that sets one usually passes the other on from the
   * client untouched, so believing both would let a client forge its
   * address. Default `'x-forwarded-for'`.
   */
  readonly forwardedHeader?: ForwardedHeader;
  /**
   * Serve the health, readiness and metrics endpoints (`healthPath`,
   * `readyPath`, `metricsPath`) on this port of `opsHost`, from the master,
   * and no longer on the public port; `0` picks a free one. `false` serves
   * them on the public port. Default `false`.
   */
  readonly opsPort?: number | false;
  /** Address the ops endpoints bind to, with `opsPort`. Default `'127.0.0.1'`. */
  readonly opsHost?: string;
  /**
   * CORS for HTTP requests to services (`/services/<name>`): the origins
   * (exact, e.g. `'https://app.example.com'`) whose pages may call them with
   * `fetch`, or `'*'` for any. The worker answers preflights itself (403 for
   * another origin) and adds `Access-Control-Allow-Origin` to the answers;
   * listed origins may send credentials, `'*'` may not. `false` sends no CORS
   * header. Default `false`.
   */
  readonly corsOrigins?: false | '*' | readonly string[];
  /**
   * Every connection to the port starts with a PROXY protocol header (v1 or
   * v2, as HAProxy and TCP load balancers send): its source address is the
   * client's (`client.remoteAddress`, the per-address limits, the logs). A
   * connection without a valid one is closed. Turn it on only behind such a
   * balancer; off, a PROXY header is an ordinary bad request. Default `false`.
   */
  readonly proxyProtocol?: boolean;
  /**
   * Nodes joined through NATS (docs/nats.md): `{ node, nats, name?, nodes?,
   * user?, pass?, token?, tls?, heartbeatInterval?, deadAfter? }`. With it,
   * every service needs a placement (`node` or `nodes` in its object form)
   * and this node starts only the instances placed on it; clients reach the
   * others over NATS. `false` is one machine: nothing of NATS is loaded.
   * Default `false`.
   */
  readonly cluster?: ClusterOptions | false;
}

/** The unit an integer option is counted in, for the docs. */
export type OptionUnit = 'ms' | 'bytes' | 'count';

interface SpecBase {
  /** One line for the docs table: what it does and what happens at the limit. */
  readonly doc: string;
  /** Copied into the worker's `WorkerLimits` (enforced by each worker on its own clients). */
  readonly workerLimit?: true;
}

/**
 * An integer from `min` to `max`; `'cpus'` defaults to `os.availableParallelism()`.
 * With `off: 0`, `0` is accepted too and turns the feature off: a timer whose
 * useful values start well above 1 ms gets a sane `min` without losing "off".
 */
export interface IntegerSpec extends SpecBase {
  readonly kind: 'integer';
  readonly unit: OptionUnit;
  readonly min: number;
  readonly max: number;
  readonly default: number | 'cpus';
  readonly off?: 0;
}

export interface BooleanSpec extends SpecBase {
  readonly kind: 'boolean';
  readonly default: boolean;
}

/** One of a fixed list of strings. */
export interface EnumSpec<T extends string> extends SpecBase {
  readonly kind: 'enum';
  readonly values: readonly T[];
  readonly default: T;
}

/**
 * Validated by a resolver of its own in options.ts (paths, lists, maps). A
 * fixed default is given as `default`; one that depends on the machine or on
 * other options only as `defaultDoc`, the text the docs show.
 */
export type CustomSpec<T = unknown> = SpecBase & {
  readonly kind: 'custom';
  /** The type as shown in the docs. */
  readonly type: string;
  /**
   * Its shape as JSON Schema, for schema/switchyard.schema.json and for
   * decoding its `SWITCHYARD_*` environment variable (a list, a map, a
   * string or `false`; see options-env.ts). Without one the schema allows
   * any value and the variable is read as JSON, `true`/`false` or a string.
   */
  readonly schema?: JsonSchema;
} & ({ readonly default: T; readonly defaultDoc?: undefined } | { readonly default?: undefined; readonly defaultDoc: string });

export type OptionSpec = IntegerSpec | BooleanSpec | EnumSpec<string> | CustomSpec;

/** The spec kinds an option of type `T` may have (tuples: no distribution over `string | false`). */
type SpecFor<T> = [T] extends [number]
  ? IntegerSpec
  : [T] extends [boolean]
    ? BooleanSpec
    : [T] extends [string]
      ? EnumSpec<T> | CustomSpec<T>
      : CustomSpec<T>;

/** One spec per option of `SwitchyardOptions`, of a kind that fits its type; no other key. */
type OptionSpecs = { readonly [K in keyof SwitchyardOptions]-?: SpecFor<Exclude<SwitchyardOptions[K], undefined>> };

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** An HTTP token (RFC 9110): what a header name may be. */
const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** A plain-GET endpoint path, or `false` for off. */
const ENDPOINT_SCHEMA: JsonSchema = { anyOf: [{ type: 'string', pattern: "^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$" }, { const: false }] };

/**
 * Every option, in the order of the docs table. Size bounds follow the path
 * the bytes travel: a client message or request body crosses a link as one
 * message of at most `MAX_MESSAGE_LENGTH` characters or bytes (binary and big
 * text as raw bytes beside the JSON line, `ipc/link-codec.ts`; small text at
 * most one character per byte), and neither may exceed `MAX_PAYLOAD_BYTES`
 * (48 MiB, the cap base64 once set); JSON escaping (up to 6×) of that plus the
 * largest header block still fits one link line (`MAX_LINE_LENGTH`, under
 * V8's string limit), which test/options-spec.test.ts checks.
 */
export const OPTION_SPECS = {
  port: { kind: 'integer', unit: 'count', min: 0, max: 65535, default: 8080, doc: 'TCP port; `0` picks a free one' },
  host: { kind: 'custom', type: 'string', default: '0.0.0.0', schema: { type: 'string', minLength: 1 }, doc: 'bind address (a non-empty string)' },
  workers: { kind: 'integer', unit: 'count', min: 1, max: 256, default: 'cpus', doc: 'client-handling worker processes' },
  services: {
    kind: 'custom',
    type: 'object',
    defaultDoc: '`{ echo, chat }` (bundled)',
    schema: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
      additionalProperties: {
        anyOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object',
            required: ['module'],
            additionalProperties: false,
            properties: {
              module: { type: 'string', minLength: 1 },
              instances: { type: 'integer', minimum: 1, maximum: 64 },
              shardBy: { type: 'string', pattern: '^(client|user|query:.+|header:.+)$' },
              node: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
              nodes: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
            },
          },
        ],
      },
    },
    doc: 'name → module path (relative to `cwd`; or a `file:` URL, as a string or a `URL`), or `{ module, instances, shardBy }`: `instances` 1 to 64 (default 1), `shardBy` `client` (default), `query:<name>`, `header:<name>` or `user` (the authenticated user; needs `authenticate` or `jwt`) (see [instances.md](instances.md)); with `cluster`, `node` or `nodes` places the instances (see [nats.md](nats.md)); names are letters, digits, `_`, `-` (at most 64, not starting with `_` or `-`); at least one',
  },
  logLevel: { kind: 'enum', values: LOG_LEVELS, default: 'info', doc: "pino level, or `'silent'`" },
  logPretty: {
    kind: 'boolean',
    default: false,
    doc: 'log lines through pino-pretty instead of JSON, in every process (development); pino-pretty is an optional peer dependency, loaded only when set, and the option is refused with an install hint when it is missing (`--log-pretty`)',
  },
  accessLog: {
    kind: 'enum',
    values: ACCESS_LOG_LEVELS,
    default: 'debug',
    workerLimit: true,
    doc: "one line per HTTP request a worker answers (`method`, `path`, `status`, `ms`, `address`; `aborted` when the connection ended first), at `'debug'` or `'info'`, or `'off'`; costs nothing unless `logLevel` lets the lines through (`--access-log`)",
  },
  forwardHeaders: {
    kind: 'custom',
    type: 'string[]',
    default: ['origin', 'user-agent', 'accept-language'],
    schema: { type: 'array', items: { type: 'string', pattern: HEADER_NAME_PATTERN } },
    doc: 'request headers passed to `onConnect` (lower-cased)',
  },
  maxPayload: {
    kind: 'integer',
    unit: 'bytes',
    min: 1,
    max: MAX_PAYLOAD_BYTES,
    default: MiB,
    doc: 'largest WebSocket message accepted; a larger one closes the client with **1009**. At most 48 MiB (the cap base64 once set; a binary message now crosses the link as its raw bytes), and what a service may send back is capped at 64 Mi characters (text) or bytes (binary)',
  },
  startTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: HOUR_MS,
    default: 30_000,
    doc: 'how long `listen()` waits for every process to be ready; at least 1 s, since starting a Node process and loading a module takes a few hundred ms on a loaded machine',
  },
  stopTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: HOUR_MS,
    default: 10_000,
    doc: 'how long `close()` waits for processes to exit before SIGKILLing stragglers (workers get 60 % of it); at least 1 s, or a stop would SIGKILL processes before they closed their clients and ran `onStop`',
  },
  restartDelay: {
    kind: 'integer',
    unit: 'ms',
    min: 10,
    max: HOUR_MS,
    default: 100,
    doc: 'first delay before restarting a crashed process; doubles per crash (exponential backoff); at least 10 ms, so a process that dies at once cannot make the master fork in a busy loop',
  },
  maxRestartDelay: { kind: 'integer', unit: 'ms', min: 10, max: HOUR_MS, default: 10_000, doc: 'longest delay between restarts; at least `restartDelay`' },
  crashLoopCount: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 1_000_000,
    default: 5,
    doc: 'that many service crashes within `crashLoopWindow` mark the service failed (no more restarts; its clients get **1011**)',
  },
  crashLoopWindow: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: DAY_MS,
    default: 60_000,
    doc: 'window for `crashLoopCount`; at least 1 s: a shorter window never holds `crashLoopCount` crashes spaced by the restart backoff, so a crash loop would never be seen',
  },
  maxDeliveries: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 1000,
    default: 3,
    workerLimit: true,
    doc: 'a client event (connect, message, close) delivered this many times to service instances that died before acknowledging it is quarantined, not redelivered: dropped with its client\'s other held events, counted in `switchyard_quarantined_total`, its client closed with **1011** "message quarantined". Below `crashLoopCount`, a poison message costs its client, not the service',
  },
  ipcMaxQueuedMessages: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 100_000_000,
    default: 100_000,
    doc: 'most messages in every IPC and link send queue, and in the unacknowledged messages each worker keeps per service; a client message that cannot be queued on its way to a service closes the client with **1013**, and so does a service message that cannot be queued on its way to the clients (1013 "service backlog full" for each client that missed it; a service that awaits `drained()` avoids it)',
  },
  ipcMaxQueuedBytes: {
    kind: 'integer',
    unit: 'bytes',
    min: KiB,
    max: 16 * GiB,
    default: 64 * MiB,
    doc: 'most payload bytes in the same queues (past it: **1013** as above). A message larger than this alone is always refused, so keep it above the largest message a link carries (`maxPayload`, or `maxRequestBody` plus `maxHeaderSize`, plus 64)',
  },
  cwd: { kind: 'custom', type: 'absolute path', defaultDoc: '`process.cwd()`', schema: { type: 'string', pattern: '^/' }, doc: 'folder relative service paths (and `staticDir`) resolve against' },
  healthPath: {
    kind: 'custom',
    type: 'path or `false`',
    default: '/healthz',
    schema: ENDPOINT_SCHEMA,
    doc: 'plain-GET path of the health endpoint (not below `/services/`); `false` turns it off',
  },
  metricsPath: {
    kind: 'custom',
    type: 'path or `false`',
    default: '/metrics',
    schema: ENDPOINT_SCHEMA,
    doc: 'plain-GET path of the Prometheus endpoint (not below `/services/`, not `healthPath`); `false` turns it off',
  },
  readyPath: {
    kind: 'custom',
    type: 'path or `false`',
    default: '/readyz',
    schema: ENDPOINT_SCHEMA,
    doc: 'plain-GET path of the readiness endpoint (not below `/services/`, not `healthPath` or `metricsPath`): **HTTP 503** while any process is not up or any service not live (see `livenessTimeout`); `false` turns it off',
  },
  livenessTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: HOUR_MS,
    default: 5000,
    doc: 'a running service that answers no ping from the master (sent every quarter of this), or acknowledges nothing while events wait for it at a worker, for this long is not live, and so is a service some worker\'s link to it has not been up for this long: `/readyz` answers **HTTP 503** naming it and why. Also the longest a restarted instance waits for every worker to resume its clients before it handles their events (docs/failure-semantics.md). At least 1 s: a garbage-collection pause or a loaded machine must not make a healthy service flap',
  },
  metricsCacheMs: {
    kind: 'integer',
    unit: 'ms',
    min: 0,
    max: 60_000,
    default: 1000,
    doc: 'how long one gathered `/metrics` result answers later scrapes: a flood costs at most one gather of every process per window; `0` gathers for each scrape',
  },
  requestTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 100,
    max: HOUR_MS,
    default: 10_000,
    doc: 'how long `onRequest` may take: HTTP **504** / `SY_ERR_REQUEST_TIMEOUT` after it; then the client\'s next events, a stop and a reload no longer wait for the handler, and its late result is ignored. At least 100 ms, or a garbage-collection pause or a restart\'s replay would time out ordinary requests',
  },
  maxRequestBody: {
    kind: 'integer',
    unit: 'bytes',
    min: 0,
    max: MAX_PAYLOAD_BYTES,
    default: MiB,
    doc: 'largest HTTP request body for a service; a larger one gets **HTTP 413**. At most 48 MiB: the body crosses the link as one message of at most 64 Mi characters or bytes (binary and big text as raw bytes); past V8\'s string limit it could not be decoded at all',
  },
  requestBodyTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 100,
    max: HOUR_MS,
    default: 30_000,
    workerLimit: true,
    doc: "how long a plain HTTP request may take in all, from its first byte to the last byte of its body (node:http's `requestTimeout`; at least `handshakeTimeout` is used); a slower one gets **HTTP 408** and its connection is closed; at least 100 ms, a few round trips of a slow network",
  },
  requestBodyIdleTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 100,
    max: HOUR_MS,
    default: 10_000,
    workerLimit: true,
    doc: 'longest pause between two chunks of a request body for a service; a body that stalls longer gets **HTTP 408** and its connection is closed; at least 100 ms, a few round trips of a slow network',
  },
  maxBufferedRequestBytes: {
    kind: 'integer',
    unit: 'bytes',
    min: KiB,
    max: 16 * GiB,
    default: 64 * MiB,
    workerLimit: true,
    doc: 'most request-body bytes one worker buffers at once, over all its requests to services; at least `maxRequestBody`. A body that does not fit, by its `Content-Length` or as its bytes arrive, gets **HTTP 503** with `Retry-After: 1` and its connection is closed: buffered bodies never grow past it',
  },
  maxHttpConnectionsPerIp: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 10_000_000,
    default: 256,
    workerLimit: true,
    doc: 'most plain HTTP (not WebSocket) connections one worker holds from one remote address, counted from a connection\'s first request until it closes; a request on a further one gets **HTTP 429** with `Retry-After: 1` and its connection is closed',
  },
  staticDir: {
    kind: 'custom',
    type: 'folder or `false`',
    defaultDoc: 'bundled `public/` when a `chat` service is configured, else `false`',
    schema: { anyOf: [{ type: 'string', minLength: 1 }, { const: false }] },
    doc: 'existing folder the workers serve over GET/HEAD (`/` → `index.html`); `false` turns it off; paths never escape it. A filesystem root, the home folder or a folder above it (symbolic links resolved) is refused: it would serve `/etc/passwd` or `~/.ssh`; a folder outside `cwd` is served with a warning in the log at start',
  },
  maxBufferedBytes: {
    kind: 'integer',
    unit: 'bytes',
    min: KiB,
    max: GiB,
    default: 4 * MiB,
    workerLimit: true,
    doc: 'checked before each message is queued to a client: a message sent while more than this still waits to be written to it (`ws.bufferedAmount`: a slow consumer) closes it with **1013** "slow consumer"; one message larger than this to a client that keeps up does not (so a backlog may reach this plus one message, up to 64 Mi characters); if the close handshake has not finished 2 s later (the client is not reading) it is terminated. Held in the worker\'s memory, not carried on a link, so only memory bounds it: up to `maxConnectionsPerWorker ×` it per worker',
  },
  heartbeatInterval: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: HOUR_MS,
    default: 30_000,
    off: 0,
    workerLimit: true,
    doc: 'each worker pings all its clients every interval; a client that did not answer the previous ping is terminated (its service sees **1006**); `0` = off. At least 1 s: a client must answer within one interval, and a round trip over a mobile network or a busy client takes hundreds of ms (at 1 ms every client was terminated within 46 ms)',
  },
  idleTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 1000,
    max: DAY_MS,
    default: 0,
    off: 0,
    workerLimit: true,
    doc: 'a client that sent no message for this long (pongs do not count) is closed with **1000** "idle timeout"; `0` = off. At least 1 s: shorter would close clients between two ordinary messages',
  },
  closeGrace: {
    kind: 'integer',
    unit: 'ms',
    min: 0,
    max: 60_000,
    default: 1000,
    workerLimit: true,
    doc: 'a client\'s Close, or the **1002** close of its protocol error, is answered once every message it sent before has been handled and the replies written (RFC 6455 lets an endpoint finish its messages first), or when this grace ends (replies after it are lost); meanwhile the worker reads nothing more from it. A stop\'s **1001** and a reload\'s **1012** to a client with replies on their way wait the same way, for at most this and half the worker\'s stop deadline (`stopTimeout` for a reload, 60 % of it for a stop); clients with nothing in flight are closed at once; `0` = answer at once',
  },
  handshakeTimeout: {
    kind: 'integer',
    unit: 'ms',
    min: 500,
    max: HOUR_MS,
    default: 10_000,
    workerLimit: true,
    doc: 'a connection whose HTTP request headers (upgrade or not) are not complete in time, including one that sends nothing (slowloris), gets **HTTP 408** and is closed; at least 500 ms, a few round trips of a slow network, or ordinary clients would get 408',
  },
  maxConnectionsPerWorker: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 10_000_000,
    default: 10_000,
    workerLimit: true,
    doc: 'most WebSocket clients one worker holds; further upgrades get **HTTP 503** with `Retry-After: 1`',
  },
  maxConnectionsPerIp: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 10_000_000,
    default: 1000,
    workerLimit: true,
    doc: 'most WebSocket clients one worker holds from one remote address (per worker); further upgrades from it get **HTTP 429** with `Retry-After: 1`',
  },
  maxMessagesPerSecond: {
    kind: 'integer',
    unit: 'count',
    min: 0,
    max: 10_000_000,
    default: 1000,
    workerLimit: true,
    doc: 'a token bucket per client (bursts up to the same number); over it the client is closed with **1008** "rate limit" and its further messages are dropped; `0` = off',
  },
  allowedOrigins: {
    kind: 'custom',
    type: '`\'*\'` or origins',
    default: '*',
    schema: { anyOf: [{ const: '*' }, { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*://' } }] },
    workerLimit: true,
    doc: '`\'*\'` allows any; otherwise an upgrade whose `Origin` is not exactly one of the listed origins (scheme, host, optional port; no path), or that has none, gets **HTTP 403**; the list must not be empty',
  },
  perMessageDeflate: {
    kind: 'boolean',
    default: false,
    workerLimit: true,
    doc: 'whether clients may negotiate permessage-deflate; compression costs CPU and memory per socket, so it is off unless turned on',
  },
  maxInflatedBytesPerSecond: {
    kind: 'integer',
    unit: 'bytes',
    min: KiB,
    max: 16 * GiB,
    default: 8 * MiB,
    off: 0,
    workerLimit: true,
    doc: 'bytes a client that negotiated permessage-deflate may deliver per second, counted after inflation (a token bucket; bursts up to this or `maxPayload`, whichever is larger): a 1 KB compressed frame may inflate to `maxPayload`, so its wire bytes bound nothing. Over it the client is closed with **1008** "inflate rate limit" and its further messages are dropped; clients without compression are bounded by their wire bytes and not counted; `0` = off',
  },
  maxHeaderSize: {
    kind: 'integer',
    unit: 'bytes',
    min: KiB,
    max: MiB,
    default: 16 * KiB,
    workerLimit: true,
    doc: 'largest HTTP request head (node:http\'s `maxHeaderSize`); a larger one gets **HTTP 431**. At most 1 MiB: the headers of a request to a service travel in its link message, next to a body of up to 48 MiB',
  },
  balancing: {
    kind: 'enum',
    values: BALANCING_MODES,
    default: 'auto',
    doc: "how connections reach workers: `'round-robin'` (the master accepts and hands each to the next worker: even spread), `'kernel'` (workers accept from the shared socket: faster connection storms, less master CPU, uneven spread), `'kernel-fair'` (as `'kernel'`, but each worker accepts one connection per wakeup and yields a moment: even spread; round-robin or not is fixed per process by the first server started), `'reuse-port'` (each worker listens on its own SO_REUSEPORT socket and the kernel spreads connections: even and fast; Node 22.12+/23.1+ on Linux or FreeBSD, refused elsewhere; a rolling reload resets a few queued connects unless `net.ipv4.tcp_migrate_req=1`) or `'auto'`: `'reuse-port'` where the runtime has it and that setting is 1, else `'kernel-fair'` (`--balancing`; docs/bench.md#balancing)",
  },
  authenticate: {
    kind: 'custom',
    type: 'module path or `false`',
    default: false,
    schema: { anyOf: [{ type: 'string', minLength: 1 }, { const: false }] },
    doc: 'module whose default export authenticates each upgrade and each request to `/services/<name>` in the worker, before any service sees it (docs/authentication.md): returns `{ user, claims? }`, or throws a `RequestError` (its status and JSON body answer); anything else it throws gets **HTTP 500** (logged, throttled); not with `jwt`',
  },
  jwt: {
    kind: 'custom',
    type: 'object or `false`',
    default: false,
    schema: { anyOf: [{ type: 'object' }, { const: false }] },
    doc: 'built-in JWT authenticator: `{ secret | publicKey | jwksFile, algorithms, audience, issuer, clockTolerance, from, userClaim }` (docs/authentication.md); a missing, malformed, wrongly signed, expired token or a wrong audience or issuer gets **HTTP 401** with its own code; not with `authenticate`',
  },
  maxConcurrentAuth: {
    kind: 'integer',
    unit: 'count',
    min: 1,
    max: 1_000_000,
    default: 128,
    workerLimit: true,
    doc: 'most authenticator calls one worker runs at once (each has `handshakeTimeout` to answer, else **HTTP 503**); a further upgrade or request gets **HTTP 503** with `Retry-After: 1`, so a slow auth backend holds at most this many sockets per worker',
  },
  maxClaimsBytes: {
    kind: 'integer',
    unit: 'bytes',
    min: 0,
    max: MiB,
    default: 4 * KiB,
    workerLimit: true,
    doc: 'largest `claims` of an identity, as JSON: kept with each client in its worker and its service for as long as it is connected; an identity over it is refused with **HTTP 500** (logged)',
  },
  http: {
    kind: 'custom',
    type: 'module path or `false`',
    default: false,
    schema: { anyOf: [{ type: 'string', minLength: 1 }, { const: false }] },
    doc: 'module whose default export is a request handler `(req, res)` (an Express app) or a factory given the in-worker services API (docs/http-app.md); it serves the plain HTTP requests no Switchyard route takes, before the static folder; a throw gets **HTTP 500** and a log line',
  },
  tls: {
    kind: 'custom',
    type: '`{ cert, key, ca?, passphrase? }` or `false`',
    default: false,
    schema: {
      anyOf: [
        {
          type: 'object',
          required: ['cert', 'key'],
          additionalProperties: false,
          properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 }, ca: { type: 'string', minLength: 1 }, passphrase: { type: 'string' } },
        },
        { const: false },
      ],
    },
    doc: 'PEM file paths (relative to `cwd`): the workers serve HTTPS and `wss://` on the one port (`--tls-cert`, `--tls-key`, `--tls-ca`). The master reads them at start and at every reload: an unreadable file, a key that does not match the certificate or a wrong passphrase fails the start (`SY_ERR_TLS_CERT`, naming the file) or the reload (the running workers keep the certificate they have). A plain `http://` request or `ws://` upgrade on the port gets **HTTP 400**. See [tls-and-proxies.md](tls-and-proxies.md)',
  },
  trustProxy: {
    kind: 'custom',
    type: '`false`, an address or range, or a list',
    default: false,
    workerLimit: true,
    schema: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }, { const: false }] },
    doc: "proxies whose forwarded client address (in `forwardedHeader`) is believed: IP addresses, CIDR ranges, or `'loopback'`, `'linklocal'`, `'uniquelocal'` (proxy-addr). Hop by hop from the TCP peer, the first address that is not a trusted proxy is the client's (a hop that is not an IP address ends the chain before it): `client.remoteAddress`, `maxConnectionsPerIp`, `maxHttpConnectionsPerIp` and the logs use it. `false` reads no header (proxy-addr is not loaded). See [tls-and-proxies.md](tls-and-proxies.md)",
  },
  forwardedHeader: {
    kind: 'enum',
    values: FORWARDED_HEADERS,
    default: 'x-forwarded-for',
    workerLimit: true,
    doc: "which header the trusted proxies set: `'x-forwarded-for'` (nginx, HAProxy, cloud load balancers) or `'forwarded'` (RFC 7239); only that one is read, since a proxy that sets one passes the other on from the client untouched",
  },
  opsPort: {
    kind: 'custom',
    type: '`false` or integer, 0 – 65535',
    default: false,
    schema: { anyOf: [{ type: 'integer', minimum: 0, maximum: 65535 }, { const: false }] },
    doc: 'port of `opsHost` on which the master serves `healthPath`, `readyPath` and `metricsPath` (`--ops-port`); they are then no longer served on the public port (a 404 there). `0` picks a free one; not `port`. `false` serves them on the public port. See [tls-and-proxies.md](tls-and-proxies.md#operations-endpoints-off-the-public-port)',
  },
  opsHost: { kind: 'custom', type: 'string', default: '127.0.0.1', schema: { type: 'string', minLength: 1 }, doc: 'address the ops endpoints bind to with `opsPort` (`--ops-host`); the default keeps them off the network' },
  corsOrigins: {
    kind: 'custom',
    type: "`false`, `'*'` or origins",
    default: false,
    workerLimit: true,
    schema: { anyOf: [{ const: '*' }, { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*://' } }, { const: false }] },
    doc: "CORS for `/services/<name>`: the exact origins whose pages may call services with `fetch` (they may send credentials), or `'*'` for any (without credentials). The worker answers a preflight (`OPTIONS` with `Access-Control-Request-Method`) with **204** and the allowed methods and headers, or **403** for another origin, and adds `Access-Control-Allow-Origin` to each answer. `false` sends no CORS header. See [tls-and-proxies.md](tls-and-proxies.md#cors-for-services)",
  },
  proxyProtocol: {
    kind: 'boolean',
    default: false,
    workerLimit: true,
    doc: 'every connection must start with a PROXY protocol header (v1 text or v2 binary, as HAProxy `send-proxy` and TCP load balancers send; before TLS when `tls` is set), whose source address becomes the client\'s (then `trustProxy` applies to it); a connection without a valid one within `handshakeTimeout` is closed without an answer. Off, no header is looked for: a `PROXY …` line is a bad request (**HTTP 400**)',
  },
  cluster: {
    kind: 'custom',
    type: '`{ node, nats, … }` or `false`',
    default: false,
    schema: {
      anyOf: [
        {
          // Nothing required here: one config file serves every node, which gets its name (and may get its servers) from --node/--nats; the resolver requires both once every layer is merged.
          type: 'object',
          additionalProperties: false,
          properties: {
            node: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            nats: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
            name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            nodes: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
            user: { type: 'string', minLength: 1 },
            pass: { type: 'string', minLength: 1 },
            token: { type: 'string', minLength: 1 },
            tls: { anyOf: [{ const: true }, { type: 'object', additionalProperties: false, properties: { caFile: { type: 'string' }, certFile: { type: 'string' }, keyFile: { type: 'string' } } }] },
            heartbeatInterval: { type: 'integer', minimum: 100, maximum: HOUR_MS },
            deadAfter: { type: 'integer', minimum: 200, maximum: HOUR_MS },
          },
        },
        { const: false },
      ],
    },
    doc: 'nodes joined through NATS (`--node`, `--nats`, `--cluster-name`): this node\'s name, the NATS servers, the cluster\'s name (subject prefix, default `switchyard`), every node of the cluster (`nodes`; default this node and every node named in a placement), credentials, heartbeats. With it every service needs `node` or `nodes` (a service placed nowhere fails the start, `SY_ERR_INVALID_OPTION`) and a node starts only its own instances. See [nats.md](nats.md)',
  },
} as const satisfies OptionSpecs;

export type OptionName = keyof typeof OPTION_SPECS;

/** Every option name, in table order: what `resolveOptions()` accepts. */
export const OPTION_NAMES = Object.keys(OPTION_SPECS) as readonly OptionName[];

/** The options each worker enforces on its own clients (`workerLimit: true` in the table). */
export type WorkerLimitName = { [K in OptionName]: (typeof OPTION_SPECS)[K] extends { readonly workerLimit: true } ? K : never }[OptionName];

export const WORKER_LIMIT_NAMES = OPTION_NAMES.filter(
  (name): name is WorkerLimitName => (OPTION_SPECS[name] as OptionSpec).workerLimit === true,
);
