/**
 * The `cluster` option (nodes joined through NATS), resolved and validated on
 * its own until it is wired into `OPTION_SPECS` and the CLI: the same
 * dotted-name errors (`options.cluster.nats.1 must be …`), the same freezing.
 * `undefined` means no cluster: one machine, nothing loaded, nothing paid.
 *
 * ```json
 * "cluster": { "node": "a", "nats": ["nats://10.0.0.5:4222"], "name": "prod" }
 * ```
 * `nats` may also be one comma-separated string, as `--nats` takes it.
 * User/password or a token, and TLS file paths, pass through to the client.
 */
import { SwitchyardError } from '../errors';
import { shownValue } from '../options-check';
import type { NatsSettings } from './nats-connection';
import { DEFAULT_DEAD_AFTER_MS, DEFAULT_HEARTBEAT_INTERVAL_MS } from './node-registry';
import { SUBJECT_TOKEN_PATTERN } from './channel-router';

/** What a user writes under `cluster`. */
export interface ClusterOptions {
  /** This node's name (letters, digits, `_`, `-`; at most 64). Required. */
  readonly node: string;
  /** NATS servers: URLs (`nats://`, `tls://`, or `host:port`), as a list or one comma-separated string. Required. */
  readonly nats: string | readonly string[];
  /** Prefix of every subject, so two clusters can share one NATS. Default `'switchyard'`. */
  readonly name?: string;
  /**
   * Every node of the cluster (at most 64): the router accepts frames and the
   * registry heartbeats only from these. Default: this node and every node
   * named in a service's placement. List them when a node holds no instance
   * (a node of workers only), or the others refuse it (and, started after
   * them, it refuses to start: `SY_ERR_NODE_UNLISTED`).
   */
  readonly nodes?: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** TLS to NATS: `true` (system CAs) or PEM file paths. Default: off unless a `tls://` URL asks for it. */
  readonly tls?: true | { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Between two node heartbeats, in ms (at least 100). Default `500`. */
  readonly heartbeatInterval?: number;
  /** A node without a heartbeat for this long, in ms, is dead (at least twice `heartbeatInterval`). Default `3000`. */
  readonly deadAfter?: number;
}

export interface ResolvedCluster {
  readonly node: string;
  readonly name: string;
  /** Every node of the cluster, sorted (so every node numbers them alike: see `nodeIndex`), this one included. */
  readonly nodes: readonly string[];
  readonly nats: NatsSettings;
  readonly heartbeatInterval: number;
  readonly deadAfter: number;
}

export const DEFAULT_CLUSTER_NAME = 'switchyard';

/** Most nodes in one cluster (a node's index is part of its workers' link ids, see `client-id.ts`). */
export const MAX_NODES = 64;

const KNOWN = new Set(['node', 'nats', 'name', 'nodes', 'user', 'pass', 'token', 'tls', 'heartbeatInterval', 'deadAfter']);

/**
 * Not an `InvalidOptionError`: `cluster` is put together from several flags
 * (`--node`, `--nats`, `--cluster-name`) over the config file's object, so
 * renaming its errors after one origin would name the wrong flag.
 */
function invalid(name: string, requirement: string, value: unknown): SwitchyardError {
  return new SwitchyardError('SY_ERR_INVALID_OPTION', `options.${name} must be ${requirement}, got ${shownValue(value)}`);
}

function token(name: string, value: unknown): string {
  if (typeof value !== 'string' || !SUBJECT_TOKEN_PATTERN.test(value)) throw invalid(name, '1 to 64 letters, digits, "_" or "-"', value);
  return value;
}

function nonEmpty(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'a non-empty string', value);
  return value;
}

/** Splits `--nats` values: repeatable, each possibly a comma list; empty items dropped. */
export function splitServerList(values: string | readonly string[]): string[] {
  return (typeof values === 'string' ? [values] : [...values]).flatMap((value) => value.split(',')).map((item) => item.trim()).filter((item) => item.length > 0);
}

/** One server address: `nats://host:port`, `tls://host:port` or `host[:port]` (taken as `nats://`). */
function server(name: string, value: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `nats://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(name, 'a NATS server URL like nats://host:4222', value);
  }
  if ((url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '' || url.pathname.replace(/^\/$/, '') !== '' || url.search !== '') {
    throw invalid(name, 'a NATS server URL like nats://host:4222 (nats:// or tls://, no path)', value);
  }
  return withScheme;
}

function positiveInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 3_600_000) throw invalid(name, `an integer from ${min} to 3600000`, value);
  return value;
}

function resolveTls(value: unknown, anyTlsUrl: boolean): NatsSettings['tls'] {
  if (value === undefined) return anyTlsUrl ? {} : undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('cluster.tls', 'true or an object of caFile, certFile, keyFile', value);
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== 'caFile' && key !== 'certFile' && key !== 'keyFile') throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.cluster.tls.${key} is not a known option`);
  }
  const caFile = nonEmpty('cluster.tls.caFile', given.caFile);
  const certFile = nonEmpty('cluster.tls.certFile', given.certFile);
  const keyFile = nonEmpty('cluster.tls.keyFile', given.keyFile);
  if ((certFile === undefined) !== (keyFile === undefined)) throw invalid('cluster.tls', 'given certFile and keyFile together', value);
  return Object.freeze({ ...(caFile !== undefined ? { caFile } : {}), ...(certFile !== undefined ? { certFile } : {}), ...(keyFile !== undefined ? { keyFile } : {}) });
}

/**
 * Every node of the cluster: the given list (which must name this node and
 * every `placed` one), or this node plus the `placed` ones; sorted, unique.
 */
function resolveNodes(given: unknown, node: string, placed: readonly string[]): readonly string[] {
  let listed: string[];
  if (given === undefined) {
    listed = [node, ...placed];
  } else {
    if (!Array.isArray(given) || given.length === 0) throw invalid('cluster.nodes', 'a non-empty array of node names', given);
    listed = given.map((item: unknown, index) => token(`cluster.nodes.${index}`, item));
    const missing = [node, ...placed].find((name) => !listed.includes(name));
    if (missing !== undefined) throw invalid('cluster.nodes', `a list naming this node and every node a service is placed on (${missing} is missing)`, given);
  }
  const nodes = [...new Set(listed)].sort();
  if (nodes.length > MAX_NODES) throw invalid('cluster.nodes', `at most ${MAX_NODES} nodes`, nodes.length);
  return Object.freeze(nodes);
}

/**
 * Validates `options.cluster`; `undefined` (no cluster) when it is not set
 * (or `false`). `placed` are the nodes the services are placed on, for the
 * default and the check of `cluster.nodes`.
 */
export function resolveClusterOptions(value: unknown, placed: readonly string[] = []): ResolvedCluster | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('cluster', 'an object with node and nats', value);
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.cluster.${key} is not a known option`);
  }
  const node = token('cluster.node', given.node);
  const name = given.name === undefined ? DEFAULT_CLUSTER_NAME : token('cluster.name', given.name);
  const rawServers = given.nats;
  if (typeof rawServers !== 'string' && !(Array.isArray(rawServers) && rawServers.every((item) => typeof item === 'string'))) {
    throw invalid('cluster.nats', 'a NATS server URL, a comma-separated list of them, or an array of them', rawServers);
  }
  const listed = splitServerList(rawServers as string | string[]);
  if (listed.length === 0) throw invalid('cluster.nats', 'at least one NATS server', rawServers);
  const servers = listed.map((item, index) => server(`cluster.nats.${index}`, item));

  const user = nonEmpty('cluster.user', given.user);
  const pass = nonEmpty('cluster.pass', given.pass);
  const tokenValue = nonEmpty('cluster.token', given.token);
  if ((user === undefined) !== (pass === undefined)) throw invalid('cluster.pass', 'given together with cluster.user', pass ?? null);
  if (tokenValue !== undefined && user !== undefined) throw invalid('cluster.token', 'not given together with cluster.user and cluster.pass', tokenValue);
  const tls = resolveTls(given.tls, servers.some((item) => item.startsWith('tls://')));

  const heartbeatInterval = positiveInteger('cluster.heartbeatInterval', given.heartbeatInterval, DEFAULT_HEARTBEAT_INTERVAL_MS, 100);
  const deadAfter = positiveInteger('cluster.deadAfter', given.deadAfter, Math.max(DEFAULT_DEAD_AFTER_MS, 2 * heartbeatInterval), 200);
  // One lost heartbeat must not be a death.
  if (deadAfter < 2 * heartbeatInterval) throw invalid('cluster.deadAfter', `at least twice options.cluster.heartbeatInterval (${2 * heartbeatInterval})`, deadAfter);

  const nats: NatsSettings = Object.freeze({
    servers: Object.freeze(servers),
    name: `switchyard-${name}-${node}`,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(tokenValue !== undefined ? { token: tokenValue } : {}),
    ...(tls !== undefined ? { tls } : {}),
  });
  const nodes = resolveNodes(given.nodes, node, placed);
  return Object.freeze({ node, name, nodes, nats, heartbeatInterval, deadAfter });
}
