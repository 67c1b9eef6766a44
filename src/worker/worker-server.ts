/**
 * The client-facing side of one worker process: its lifecycle and what the
 * master tells it. An HTTP server whose upgrades become WebSocket clients of
 * a service (client-intake.ts: socket → link), the services' messages back to
 * those sockets (client-delivery.ts: link → sockets), one link per service.
 * The master only announces where each service instance listens, asks for
 * metrics, stops the worker, and gets a status report now and then.
 *
 * Read top-down, in the order of a worker's life: constructor → listen →
 * master messages → stop.
 */
import { clusterLinkId } from '../client-id';
import type { ChannelRouter } from '../nats/channel-router';
import { ProcessRouter, workerEndpoint } from '../nats/process-router';
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import type { WorkerConfig } from '../child-env';
import { ClientIdAllocator } from '../client-id';
import { CLOSE_CODES } from '../errors';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import type { Logger } from '../logger';
import { approximateSize, isMasterToWorker, readBatch, type LinkLiveness, type MasterToWorker, type TlsMaterial, type WorkerToMaster } from '../protocol';
import { ClientDelivery } from './client-delivery';
import { addressResolver } from './client-address';
import { ClientScript } from './client-script';
import { ClientIntake } from './client-intake';
import { ClientRegistry } from './client-registry';
import { Authenticator } from './authenticate';
import { createFrontServer, setTlsMaterial, type FrontServer } from './front-server';
import { answerClientError, replyError } from './http-reply';
import { HeldCloses } from './held-closes';
import { ReportSchedule } from './report-schedule';
import { AppServices } from './app-services';
import { HttpApp } from './http-app';
import { HttpRoutes } from './http-routes';
import { ConnectionLimits, httpServerOptions, perMessageDeflateOptions } from './limits';
import { RoutingTally } from './routing-tally';
import { ServiceLink, type ServiceLinkHooks } from './service-link';
import { bestUsable, ownerOf } from '../rendezvous';
import { instanceKey, shardKeyOf, DEFAULT_SHARD_BY, type ServiceShards, type ShardBy, type ShardSource } from '../shard-key';
import { SocketCorker } from './socket-corker';
import { StaticFiles } from './static-files';
import { selectProtocol } from './jwt-auth';
import type { WorkerModules } from './worker-modules';
import { WorkerMetrics } from './worker-metrics';

type WorkerState = 'starting' | 'listening' | 'stopping' | 'stopped';

/** node:net's listen options; `reusePort` (Node 22.12+/23.1+) is not in this project's @types/node yet. */
type ListenOptions = net.ListenOptions & { readonly reusePort?: boolean };

/**
 * Where and how the worker listens. With `reusePort` on its own socket
 * (`exclusive`: node:cluster would otherwise ask the master for a shared
 * handle), which SO_REUSEPORT lets every worker bind to the same port.
 */
function listenOptions(config: WorkerConfig): ListenOptions {
  const at = { port: config.port, host: config.host };
  return config.reusePort === true ? { ...at, exclusive: true, reusePort: true } : at;
}

function closedOf(socket: WebSocket): Promise<void> {
  return socket.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Requests tracked per link of a service of several instances (see `requestsTo`). */
const MAX_TRACKED_REQUESTS = 10_000;

const ONE_INSTANCE: ServiceShards = { instances: 1, shardBy: DEFAULT_SHARD_BY };

/** How long stopping clients get to answer the close handshake before they are cut. */
const CLOSE_HANDSHAKE_GRACE_MS = 2000;

/** How soon after a change of its clients the master hears the worker's status (client counts, held messages, drops). */
const STATUS_DELAY_MS = 20;
/** How soon after messages alone moved (held counts, a link's waiting time) it does: a tenth of the shortest `livenessTimeout` (1 s), see ReportSchedule. */
const FLOW_STATUS_DELAY_MS = 100;

export class WorkerServer {
  private readonly clients = new ClientRegistry();
  private state: WorkerState = 'starting';
  private readonly http: FrontServer;
  /** With TLS: resolves with the first certificate the master sends, which the worker needs before it listens. */
  private readonly firstTls: Promise<void>;
  private gotTls: (() => void) | undefined;
  /** Each service's links, one per instance, by index. */
  private readonly links = new Map<string, readonly ServiceLink[]>();
  /** Services of several instances: their shard key, and the next instance for an HTTP request that carries none. */
  private readonly sharded = new Map<string, { readonly shardBy: ShardBy; nextRequest: number }>();
  /** Each service's shard key setting (also for one instance: a reload may add more) and the hooks its new links get. */
  private readonly shardBy = new Map<string, ShardBy>();
  /** Client id → its shard key, for the clients of services sharded by a query parameter or header: a reload that changes the count re-places them. */
  private readonly shardKeys = new Map<string, string>();
  private linkHooks: ServiceLinkHooks | undefined;
  /**
   * HTTP requests sent to each instance of a service of several, by request
   * id, so that an instance that goes answers only its own with 503. An
   * answer removes its id; one that timed out stays until its instance goes,
   * within `MAX_TRACKED_REQUESTS` per link (the oldest then leaves: at worst
   * that request had its 504 already).
   */
  private readonly requestsTo = new Map<ServiceLink, Set<string>>();
  private readonly routing = new RoutingTally();
  private readonly statusReports = new ReportSchedule(() => this.reportStatus(), STATUS_DELAY_MS, FLOW_STATUS_DELAY_MS);
  private readonly reportStatus = (): void => {
    const clients: Record<string, number> = {};
    const held: Record<string, number> = {};
    const links: Record<string, LinkLiveness> = {};
    let linkQueueFull = 0;
    for (const link of this.allLinks()) {
      clients[link.key] = link.clientCount;
      held[link.key] = link.heldCount;
      links[link.key] = link.liveness;
      linkQueueFull += link.queueDropped;
    }
    this.send({ type: 'status', clients, held, routing: this.routing.counters(linkQueueFull), links }, true);
  };
  private readonly outbox: BatchQueue<WorkerToMaster>;
  private readonly metrics: WorkerMetrics;
  private readonly routes: HttpRoutes;
  private readonly limits: ConnectionLimits;
  private readonly intake: ClientIntake;
  private readonly delivery: ClientDelivery;
  /** Closes held until the replies to what their clients sent are written (a client's own, or the worker's at a stop). */
  private readonly closes: HeldCloses;
  /** The user's `http` app, when configured. */
  private readonly app: { readonly serve: (request: http.IncomingMessage, response: http.ServerResponse) => void } | undefined;
  /** What `switchyard/worker` gives the app (worker-main.ts installs it), when an app is configured. */
  readonly appServices: AppServices | undefined;

  /** The id this worker's links present and its client ids carry (`clusterLinkId`). */
  private readonly linkId: number;
  /** With `cluster`: this worker's NATS connection and router, opened by the first link to another node. */
  private readonly remote: ProcessRouter | undefined;
  private readonly remoteRouter = (): Promise<ChannelRouter> => {
    if (this.remote === undefined) return Promise.reject(new Error('no cluster configured'));
    return this.remote.get();
  };

  constructor(
    private readonly config: WorkerConfig,
    workerId: number,
    endpoint: IpcEndpoint,
    private readonly log: Logger,
    private readonly onStopped: () => void = () => {},
    modules: WorkerModules = {},
  ) {
    this.outbox = new BatchQueue(endpoint, {
      maxMessages: config.ipc.maxMessages,
      maxBytes: config.ipc.maxBytes,
      onError: (error) => log.debug({ err: error }, 'IPC write to master failed'),
    });
    this.metrics = new WorkerMetrics(workerId, config.services, this.outbox);
    // With `cluster` the id its links and clients carry names its node too (client-id.ts); on one machine it is the worker id.
    const { cluster } = config;
    const linkId = cluster === undefined ? workerId : clusterLinkId(cluster.nodes.indexOf(cluster.node), workerId);
    this.linkId = linkId;
    this.remote = cluster === undefined ? undefined : new ProcessRouter(cluster, workerEndpoint(workerId), log);
    const remote = this.remote;
    if (remote !== undefined) this.metrics.trackNats(() => remote.totals());
    this.limits = new ConnectionLimits(config.limits, log, () => performance.now(), config.maxPayload);
    const closes = new HeldCloses(config.limits.closeGrace, log);
    this.closes = closes;
    const addressOf = addressResolver(config.limits.trustProxy, config.limits.forwardedHeader, config.limits.proxyProtocol);
    const authenticator =
      modules.authenticate === undefined
        ? undefined
        : new Authenticator(modules.authenticate, { timeout: config.limits.handshakeTimeout, maxConcurrent: config.limits.maxConcurrentAuth, maxClaimsBytes: config.limits.maxClaimsBytes }, log);
    const staticFiles = config.staticDir === false ? undefined : new StaticFiles(config.staticDir, log);
    const clientScript = new ClientScript(log);
    this.routes = new HttpRoutes({
      config,
      workerId: linkId,
      log,
      metrics: this.metrics,
      query: (message) => this.send(message),
      request: (service, fields) => {
        const link = this.requestLink(service, fields);
        if (link === undefined) {
          this.routing.add('requestsRefused');
          this.statusChanged();
          return 'unavailable';
        }
        if (!link.request(fields)) return 'busy';
        if (this.sharded.has(service)) this.trackRequest(link, fields.rid);
        return 'sent';
      },
      fallback: (request, response) => {
        // Order: the client script, a static file that exists, then the user's app, then 404 (docs/http-app.md).
        if (ClientScript.matches(request.url)) return clientScript.serve(request, response);
        if (staticFiles !== undefined) return staticFiles.serve(request, response, this.app?.serve);
        if (this.app !== undefined) return this.app.serve(request, response);
        replyError(response, 404, 'Not found');
      },
      admit: (request, address) => this.limits.admitHttp(request, address),
      addressOf,
      authenticator,
    });
    if (modules.httpApp !== undefined) {
      const app = new HttpApp(modules.httpApp, config.requestTimeout, log);
      this.app = { serve: (request, response) => app.serve(request, response) };
      this.appServices = new AppServices({
        routes: this.routes,
        knows: (service) => this.links.has(service),
        linkFor: (service, fields) => this.requestLink(service, fields),
        sent: (service, link, rid) => {
          if (this.sharded.has(service)) this.trackRequest(link, rid);
        },
        requestTimeout: config.requestTimeout,
      });
    }
    const statusChanged = (flow?: boolean): void => this.statusChanged(flow);
    const ids = new ClientIdAllocator(linkId);
    this.delivery = new ClientDelivery({
      workerId: linkId,
      ids,
      clients: this.clients,
      limits: this.limits,
      closes,
      corker: new SocketCorker(),
      routing: this.routing,
      metrics: this.metrics,
      log,
      settleResponse: (service, message) => {
        if (this.requestsTo.size > 0) for (const rids of this.requestsTo.values()) if (rids.delete(message.rid)) break;
        return this.routes.settleResponse(service, message);
      },
      statusChanged,
      interestChanged: (service, topic, on) => this.interestChanged(service, topic, on),
    });
    const hooks: ServiceLinkHooks = {
      onBatch: (link, batch) => this.delivery.fromLink(link, batch),
      onFreshInstance: (link) => {
        // The new process knows no subscription: the routes of the clients it owns go (topics left without a subscriber are lost to its siblings too).
        const siblings = this.links.get(link.service) ?? [];
        this.clients.dropTopicsOf(link, siblings.length > 1 ? (topic) => this.interestChanged(link.service, topic, false) : undefined);
        // It learns which topics other instances' subscribers hold here.
        if (siblings.length > 1) for (const topic of this.clients.topicsOf(link.service)) link.interest(topic, true);
        // The master judges readiness by the links' states: a link that came up must be reported.
        this.statusChanged();
      },
      onInstanceGone: (link) => {
        if (this.sharded.has(link.service)) {
          const rids = this.requestsTo.get(link);
          if (rids !== undefined) this.routes.instanceGone(link.service, rids);
          this.requestsTo.delete(link);
        } else this.routes.serviceGone(link.service);
        this.statusChanged();
      },
      onQuarantined: (link, clients, endpoint) => this.quarantined(link.service, clients, endpoint),
    };
    this.linkHooks = hooks;
    for (const service of config.services) {
      const shards = config.shards[service] ?? ONE_INSTANCE;
      this.shardBy.set(service, shards.shardBy);
      this.links.set(service, []);
      this.resizeLinks(service, shards.instances);
    }
    this.intake = new ClientIntake({
      services: new Set(config.services),
      forwardHeaders: config.forwardHeaders,
      ids,
      links: this.links,
      shardBy: (service) => this.sharded.get(service)?.shardBy,
      placed: (_service, id, key) => {
        if (key !== undefined) this.shardKeys.set(id, key);
      },
      shardKeyKept: (service) => this.shardBy.get(service)?.kind !== 'client',
      shardByOf: (service) => this.shardBy.get(service) ?? DEFAULT_SHARD_BY,
      forgetPlacement: (id) => this.shardKeys.delete(id),
      interestChanged: (service, topic, on) => this.interestChanged(service, topic, on),
      clients: this.clients,
      metrics: this.metrics,
      limits: this.limits,
      closes,
      wss: new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: perMessageDeflateOptions(config.limits),
        maxPayload: config.maxPayload,
        // A token carried as a protocol (`bearer.<jwt>`) is never echoed back as the chosen one.
        ...(config.jwt?.from?.includes('protocol') === true ? { handleProtocols: selectProtocol } : {}),
      }),
      routing: this.routing,
      log,
      addressOf,
      authenticator,
      serveHttp: (request, response) => this.routes.handle(request, response),
      statusChanged,
    });
    const front = { tls: config.tls, proxyProtocol: config.limits.proxyProtocol, handshakeTimeout: config.limits.handshakeTimeout };
    this.http = createFrontServer(httpServerOptions(config.limits), front, log, (request, response) => this.routes.handle(request, response));
    this.firstTls = config.tls ? new Promise((resolve) => (this.gotTls = resolve)) : Promise.resolve();
    // The limits' timers live as long as the server: stopping it closes them.
    this.http.once('close', () => {
      this.limits.close();
      closes.close();
    });
    this.http.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => this.intake.onUpgrade(request, socket, head));
    this.http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      log.debug({ err: error }, 'bad HTTP request');
      answerClientError(error, socket);
    });
  }

  /**
   * A link dropped poison events: their clients are told, and only they
   * (docs/failure-semantics.md); the master learns that the crashes were the
   * events', so they do not count towards the service's crash loop.
   */
  private quarantined(service: string, clients: readonly string[], endpoint: string): void {
    this.send({ type: 'quarantined', service, endpoint, deliveries: this.config.limits.maxDeliveries });
    for (const id of clients) {
      this.metrics.quarantined(service);
      const entry = this.clients.get(id);
      if (entry !== undefined && entry.service === service) entry.socket.close(CLOSE_CODES.INTERNAL_ERROR, 'message quarantined');
    }
    this.statusChanged();
  }

  /** Starts listening (with TLS, once the master sent the certificate); resolves with the bound port. */
  async listen(): Promise<number> {
    await this.firstTls;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.http.once('error', onError);
      this.http.listen(listenOptions(this.config), () => {
        this.http.off('error', onError);
        this.http.on('error', (error) => this.log.error({ err: error }, 'HTTP server error'));
        this.state = 'listening';
        this.intake.open();
        const address = this.http.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
        this.send({ type: 'ready', port });
        // A first report, even before any client: a link that never comes up must show in /readyz.
        this.statusChanged();
        resolve(port);
      });
    });
  }

  /** Handles one IPC batch from the master; returns how many of its messages were malformed. */
  handleBatch(batch: unknown): number {
    return readBatch(batch, isMasterToWorker, this.handleOne);
  }

  private readonly handleOne = (message: MasterToWorker): void => this.handle(message);

  /** Handles one message from the master. */
  handle(message: MasterToWorker): void {
    switch (message.type) {
      case 'serviceUp':
        this.links.get(message.service)?.[message.instance]?.instanceUp(message.endpoint, message.secret);
        return;
      case 'serviceFailed': {
        const link = this.links.get(message.service)?.[message.instance];
        if (link === undefined) return;
        link.instanceFailed();
        // Only the clients this instance owns: the other shards serve on.
        for (const entry of [...this.clients.ofService(message.service).values()]) if (entry.link === link) entry.socket.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
        this.statusChanged();
        return;
      }
      case 'serviceDown':
        this.links.get(message.service)?.[message.instance]?.instanceDown();
        this.statusChanged();
        return;
      case 'serviceResized':
        this.resize(message.service, message.instances);
        return;
      case 'queryResult':
        this.routes.settleQuery(message);
        return;
      case 'metricsRequest':
        void this.metrics.snapshot().then((metrics) => this.send({ type: 'metrics', qid: message.qid, metrics }, true));
        return;
      case 'stop':
        void this.stop(message.code, message.reason, message.holdMs).then(this.onStopped);
        return;
      case 'tls':
        this.useTls(message);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The master's (checked) certificate: new handshakes get it; established connections keep theirs. */
  private useTls(material: TlsMaterial): void {
    if (!this.config.tls) {
      this.log.warn('TLS certificate from the master ignored: this worker serves plain HTTP');
      return;
    }
    try {
      setTlsMaterial(this.http, { cert: material.cert, key: material.key, ca: material.ca, passphrase: material.passphrase });
    } catch (error) {
      // The master checked the same bytes; keep serving what was set before rather than crash.
      this.log.error({ err: error }, 'TLS certificate from the master cannot be used; keeping the previous one');
      return;
    }
    this.gotTls?.();
    this.gotTls = undefined;
  }

  /**
   * Stops accepting, closes every client with `code`, reports their closes to
   * the master and resolves once all of that is written. A client with
   * events still unacknowledged is closed once they are (their replies
   * written first), or after `holdMs` (default 0: at once); it is still
   * read meanwhile (held-closes.ts says why).
   */
  async stop(code: number = CLOSE_CODES.GOING_AWAY, reason = 'server shutting down', holdMs = 0): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.intake.stop(code, reason);
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const entries = [...this.clients.all()];
    const sockets = entries.map((entry) => entry.socket);
    const allClosed = Promise.all(sockets.map((socket) => closedOf(socket)));
    for (const entry of entries) this.closes.closeAfterReplies(entry, code, reason, holdMs);
    // One timer for all: clients that do not finish the close handshake in time (after the longest hold) are cut.
    const grace = setTimeout(() => {
      for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    }, holdMs + CLOSE_HANDSHAKE_GRACE_MS);
    await allClosed;
    clearTimeout(grace);
    this.routes.close();
    this.http.closeAllConnections();
    await closed;
    // Every client's close reaches its service before the link ends.
    await Promise.all([...this.allLinks()].map((link) => link.drained()));
    for (const link of this.allLinks()) link.end();
    // Its links' last frames are published; closing flushes them to the server.
    await this.remote?.close();
    this.statusReports.now();
    await this.outbox.drained();
    this.metrics.close();
    this.state = 'stopped';
  }

  /** Makes `service` keep `instances` links: new ones (down until announced) are added, extra ones dropped, every key renamed. */
  private resizeLinks(service: string, instances: number): ServiceLink[] {
    const links = [...(this.links.get(service) ?? [])];
    const removed = links.splice(instances);
    for (let i = links.length; i < instances; i++) {
      const linkLimits = { ...this.config.ipc, maxDeliveries: this.config.limits.maxDeliveries };
      links.push(new ServiceLink(service, this.linkId, linkLimits, this.log, this.linkHooks as ServiceLinkHooks, i, instanceKey(service, i, instances), this.remoteRouter));
    }
    for (const link of links) link.key = instanceKey(service, link.instance, instances);
    this.links.set(service, links);
    if (instances > 1) this.sharded.set(service, { shardBy: this.shardBy.get(service) ?? DEFAULT_SHARD_BY, nextRequest: 0 });
    else this.sharded.delete(service);
    return removed;
  }

  /**
   * A reload changed `service`'s instance count: each client whose key now
   * maps to another instance is closed with 1012 (it reconnects, to its new
   * owner), once the replies to what it sent before are written; the others stay. The links of removed instances end once their
   * clients' closes are on their way, so those instances hear every onClose.
   */
  private resize(service: string, instances: number): void {
    if ((this.links.get(service)?.length ?? instances) === instances) return;
    const removed = this.resizeLinks(service, instances);
    const links = this.links.get(service) as readonly ServiceLink[];
    const moved: WebSocket[] = [];
    for (const entry of this.clients.ofService(service).values()) {
      const owner = instances === 1 ? 0 : ownerOf(this.shardKeys.get(entry.id) ?? `c:${entry.id}`, instances);
      if (links[owner] === entry.link) continue;
      moved.push(entry.socket);
      // As a retiring worker's 1012: after the replies to what it sent before, within closeGrace.
      this.closes.closeAfterReplies(entry, CLOSE_CODES.SERVICE_RESTART, 'service resharded; reconnect', this.config.limits.closeGrace);
    }
    this.log.info({ service, instances, moved: moved.length }, 'service resharded: clients that now belong to another instance were closed with 1012');
    void Promise.all(moved.map((socket) => closedOf(socket))).then(async () => {
      await Promise.all(removed.map((link) => link.drained()));
      for (const link of removed) link.end();
    });
    this.statusChanged();
  }

  private *allLinks(): IterableIterator<ServiceLink> {
    for (const links of this.links.values()) yield* links;
  }

  /**
   * The link an HTTP request to `service` goes to, or undefined when no
   * instance is up. One instance: its link. Several: by the request's shard
   * key when it carries one (the owner, or the next in the key's ranking
   * while the owner is down), else round-robin over the instances that are up.
   */
  private requestLink(service: string, fields: ShardSource): ServiceLink | undefined {
    const links = this.links.get(service);
    if (links === undefined) return undefined;
    const sharding = this.sharded.get(service);
    if (sharding === undefined) return links[0]?.available === true ? links[0] : undefined;
    const key = shardKeyOf(sharding.shardBy, fields);
    if (key !== undefined) return links[bestUsable(key, links.length, (i) => links[i]?.available === true)];
    for (let tried = 0; tried < links.length; tried++) {
      const link = links[sharding.nextRequest];
      sharding.nextRequest = (sharding.nextRequest + 1) % links.length;
      if (link?.available === true) return link;
    }
    return undefined;
  }

  private trackRequest(link: ServiceLink, rid: string): void {
    let rids = this.requestsTo.get(link);
    if (rids === undefined) {
      rids = new Set();
      this.requestsTo.set(link, rids);
    }
    rids.add(rid);
    if (rids.size > MAX_TRACKED_REQUESTS) rids.delete(rids.values().next().value as string);
  }

  /** A topic of a service of several instances gained its first subscriber here, or lost its last: every instance hears it. */
  private interestChanged(service: string, topic: string, on: boolean): void {
    if (!this.sharded.has(service)) return;
    for (const link of this.links.get(service) ?? []) link.interest(topic, on);
  }

  /** Schedules a status report to the master; many changes make one report. */
  /** A status report is due (`ReportSchedule`); `flow`: only the message flow moved. */
  private statusChanged(flow = false): void {
    if (this.state !== 'stopped') this.statusReports.due(flow);
  }

  private send(message: WorkerToMaster, mustKeep = false): boolean {
    return this.outbox.push(message, approximateSize(message), mustKeep);
  }
}
