/**
 * Which part of a connection decides the service instance that owns it
 * (`services.<name>.shardBy`): the client id (the default, so clients spread
 * evenly), a query parameter (`query:room`: everyone in one room on one
 * instance) or a request header (`header:x-tenant`). A connection without the
 * key falls back to its client id. `user` places every connection of an
 * authenticated user (`client.user`, options `authenticate` or `jwt`) on one
 * instance, so that `sendToUser` and `closeUser` reach all of them. The worker
 * only ever calls `shardKeyOf`.
 */

export type ShardBy =
  | { readonly kind: 'client' }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'user' };

export const DEFAULT_SHARD_BY: ShardBy = Object.freeze({ kind: 'client' });
const BY_USER: ShardBy = Object.freeze({ kind: 'user' });

/** How `shardBy` is written in options: `client`, `query:<name>`, `header:<name>`, `user`. */
export const SHARD_BY_FORMS = 'client, query:<name>, header:<name> or user';

const QUERY_NAME = /^[A-Za-z0-9._~-]{1,64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/** Parses the option's string form; undefined when it is not one of `SHARD_BY_FORMS`. */
export function parseShardBy(value: string): ShardBy | undefined {
  if (value === 'client') return DEFAULT_SHARD_BY;
  if (value === 'user') return BY_USER;
  const colon = value.indexOf(':');
  if (colon < 0) return undefined;
  const kind = value.slice(0, colon);
  const name = value.slice(colon + 1);
  if (kind === 'query' && QUERY_NAME.test(name)) return Object.freeze({ kind: 'query', name });
  // Header names are case-insensitive; node lower-cases them.
  if (kind === 'header' && HEADER_NAME.test(name)) return Object.freeze({ kind: 'header', name: name.toLowerCase() });
  return undefined;
}

/** The option's string form of a parsed `ShardBy` (for logs and `stats()`). */
export function formatShardBy(shardBy: ShardBy): string {
  switch (shardBy.kind) {
    case 'client':
    case 'user':
      return shardBy.kind;
    case 'query':
    case 'header':
      return `${shardBy.kind}:${shardBy.name}`;
    default: {
      const unknownKind: never = shardBy;
      throw new Error(`unknown shardBy ${JSON.stringify(unknownKind)}`);
    }
  }
}

/** What a shard key is read from: a connection's upgrade, or an HTTP request to the service. */
export interface ShardSource {
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The authenticated user, when an authenticator accepted the connection or request. */
  readonly user?: string | undefined;
}

/**
 * The shard key of a connection or request, or undefined when it carries none
 * (a connection then uses its client id; an HTTP request goes round-robin).
 * Keys are prefixed by kind, so a room called "7" and a client id "7" differ.
 */
export function shardKeyOf(shardBy: ShardBy, source: ShardSource): string | undefined {
  switch (shardBy.kind) {
    case 'client':
      return undefined;
    case 'query': {
      const value = source.query[shardBy.name];
      return value === undefined || value === '' ? undefined : `q:${value}`;
    }
    case 'header': {
      const raw = source.headers[shardBy.name];
      const value = Array.isArray(raw) ? raw.join(', ') : raw;
      return value === undefined || value === '' ? undefined : `h:${value}`;
    }
    case 'user':
      return source.user === undefined ? undefined : `u:${source.user}`;
    default: {
      const unknownKind: never = shardBy;
      throw new Error(`unknown shardBy ${JSON.stringify(unknownKind)}`);
    }
  }
}

/** The key a connection is placed by: its shard key, else its client id. */
export function connectionKey(shardBy: ShardBy, source: ShardSource, clientId: string): string {
  return shardKeyOf(shardBy, source) ?? `c:${clientId}`;
}

/** How one service runs: how many instances, and what places a client on one. */
export interface ServiceShards {
  readonly instances: number;
  readonly shardBy: ShardBy;
}

/**
 * How an instance is named in the workers' status reports, `/healthz`'s
 * `linksDown` and the master's bookkeeping: the service's name when it runs
 * one instance (so nothing changes for it), `<name>#<index>` when several.
 */
export function instanceKey(service: string, instance: number, instances: number): string {
  return instances === 1 ? service : `${service}#${instance}`;
}
