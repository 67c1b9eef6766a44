/**
 * `services` (each name's module, instance count and shard key) and, with
 * `cluster`, the node each instance is placed on.
 */
import { SwitchyardError } from './errors';
import { integer, invalid, InvalidOptionError, MODULE_PATH } from './options-check';
import { bundledServices, MAX_INSTANCES, SERVICE_NAME_PATTERN } from './options-defaults';
import type { ResolvedOptions } from './options';
import { DEFAULT_SHARD_BY, SHARD_BY_FORMS, parseShardBy, type ServiceShards } from './shard-key';
import { SUBJECT_TOKEN_PATTERN } from './nats/channel-router';
import { resolveClusterOptions, type ResolvedCluster } from './nats/cluster-options';
import { isUrlObject, moduleFile } from './user-module';

const ONE_INSTANCE: ServiceShards = Object.freeze({ instances: 1, shardBy: DEFAULT_SHARD_BY });
const DEFINITION_KEYS: ReadonlySet<string> = new Set(['module', 'instances', 'shardBy', 'node', 'nodes']);

/** One service's object form, `{ module, instances, shardBy }`: its module path and how it is sharded. */
function resolveDefinition(name: string, definition: Readonly<Record<string, unknown>>): { readonly modulePath: unknown; readonly shards: ServiceShards } {
  for (const key of Object.keys(definition)) {
    if (!DEFINITION_KEYS.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.services.${name}.${key} is not a known field (module, instances, shardBy, node, nodes)`);
  }
  if (moduleFile(definition.module, '/') === undefined) throw invalid(`services.${name}.module`, MODULE_PATH, definition.module);
  const instances = integer(`services.${name}.instances`, definition.instances, 1, 1, MAX_INSTANCES, undefined);
  let shardBy = DEFAULT_SHARD_BY;
  if (definition.shardBy !== undefined) {
    const parsed = typeof definition.shardBy === 'string' ? parseShardBy(definition.shardBy) : undefined;
    if (parsed === undefined) throw invalid(`services.${name}.shardBy`, SHARD_BY_FORMS, definition.shardBy);
    shardBy = parsed;
  }
  return { modulePath: definition.module, shards: instances === 1 && shardBy === DEFAULT_SHARD_BY ? ONE_INSTANCE : Object.freeze({ instances, shardBy }) };
}

/** A service's `node` or `nodes`, as the list instance `i` takes `i % length` of; undefined when it has neither (or the string form). */
function placementOf(name: string, given: unknown): readonly string[] | undefined {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return undefined;
  const { node, nodes } = given as Readonly<Record<string, unknown>>;
  if (node !== undefined && nodes !== undefined) throw invalid(`services.${name}.nodes`, 'not given together with node', nodes);
  if (node !== undefined) {
    if (typeof node !== 'string' || !SUBJECT_TOKEN_PATTERN.test(node)) throw invalid(`services.${name}.node`, 'a node name (1 to 64 letters, digits, "_" or "-")', node);
    return [node];
  }
  if (nodes === undefined) return undefined;
  if (!Array.isArray(nodes) || nodes.length === 0) throw invalid(`services.${name}.nodes`, 'a non-empty array of node names', nodes);
  nodes.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || !SUBJECT_TOKEN_PATTERN.test(item)) throw invalid(`services.${name}.nodes.${index}`, 'a node name (1 to 64 letters, digits, "_" or "-")', item);
  });
  return nodes as string[];
}

/**
 * `cluster` and the placement of every instance. Without `cluster` any
 * placement is ignored, so one config file also runs on one machine in
 * development; with it, a service placed nowhere fails the start (an
 * instance that runs nowhere would hold its clients' events for ever).
 */
export function resolveCluster(value: unknown, given: unknown, shards: Readonly<Record<string, ServiceShards>>): Pick<ResolvedOptions, 'cluster' | 'placement'> {
  if (value === undefined || value === false) return { cluster: false, placement: Object.freeze({}) };
  const definitions = (typeof given === 'object' && given !== null ? given : {}) as Readonly<Record<string, unknown>>;
  const placement: Record<string, readonly string[]> = {};
  const placed = new Set<string>();
  for (const [name, shard] of Object.entries(shards)) {
    const nodes = placementOf(name, definitions[name]);
    if (nodes === undefined) {
      throw new InvalidOptionError(`services.${name}`, 'needs a placement with options.cluster: { "module": …, "node": "<node>" } or "nodes": [ … ]');
    }
    placement[name] = Object.freeze(Array.from({ length: shard.instances }, (_, index) => nodes[index % nodes.length] as string));
    for (const node of nodes) placed.add(node);
  }
  return { cluster: resolveClusterOptions(value, [...placed]) as ResolvedCluster, placement: Object.freeze(placement) };
}

/** `services`: each name's module as an absolute path, and its shards; the bundled examples when not given. */
export function resolveServices(value: unknown, cwd: string): Pick<ResolvedOptions, 'services' | 'shards'> {
  if (value === undefined) {
    const services = bundledServices();
    return { services, shards: Object.freeze(Object.fromEntries(Object.keys(services).map((name) => [name, ONE_INSTANCE]))) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('services', 'an object of name → module path or { module, instances, shardBy }', value);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw invalid('services', 'an object with at least one service', value);
  const services: Record<string, string> = {};
  const shards: Record<string, ServiceShards> = {};
  for (const [name, given] of entries) {
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw invalid(`services.${name}`, 'named with letters, digits, "_" or "-" (at most 64, not starting with "_" or "-")', name);
    }
    // A URL is an object too, but a module path, not a definition.
    const isDefinition = typeof given === 'object' && given !== null && !Array.isArray(given) && !isUrlObject(given);
    const { modulePath, shards: shard } = isDefinition ? resolveDefinition(name, given as Readonly<Record<string, unknown>>) : { modulePath: given as unknown, shards: ONE_INSTANCE };
    const file = moduleFile(modulePath, cwd);
    if (file === undefined) {
      throw invalid(`services.${name}`, isDefinition || typeof given === 'string' || isUrlObject(given) ? MODULE_PATH : `${MODULE_PATH} or { module, instances, shardBy }`, modulePath);
    }
    services[name] = file;
    shards[name] = shard;
  }
  return { services: Object.freeze(services), shards: Object.freeze(shards) };
}
