/** The `jwt` option (docs/authentication.md). */
import * as path from 'node:path';
import { integer, invalid, isFile, isStringOrList } from './options-check';
import type { JwtOptions } from './options-spec';

const JWT_KEYS: ReadonlySet<string> = new Set(['secret', 'publicKey', 'jwksFile', 'algorithms', 'audience', 'issuer', 'clockTolerance', 'from', 'userClaim']);
const JWT_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const TOKEN_SOURCE = /^(?:protocol|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+|query:[^\s]+|cookie:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/;

/**
 * The `jwt` option: exactly one key source (files checked to exist, read by
 * each worker), known algorithms that fit it, token sources of the four
 * kinds. A mistake here fails the start rather than answer every client 401.
 */
export function resolveJwt(value: unknown, cwd: string): JwtOptions | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('jwt', 'an object or false', value);
  const given = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) if (!JWT_KEYS.has(key)) throw invalid(`jwt.${key}`, 'a known field (see docs/authentication.md)', given[key]);
  const sources = ['secret', 'publicKey', 'jwksFile'].filter((key) => given[key] !== undefined);
  if (sources.length !== 1) throw invalid('jwt', 'given exactly one of secret, publicKey, jwksFile', sources);
  const resolved: Record<string, unknown> = {};
  if (given.secret !== undefined) {
    // HS256 needs at least 256 bits of key (RFC 7518 §3.2); a short secret is guessable offline from one token.
    if (typeof given.secret !== 'string' || Buffer.byteLength(given.secret) < 32) throw invalid('jwt.secret', 'a string of at least 32 bytes', '(hidden)');
    resolved.secret = given.secret;
  }
  for (const key of ['publicKey', 'jwksFile'] as const) {
    if (given[key] === undefined) continue;
    if (typeof given[key] !== 'string' || given[key].length === 0) throw invalid(`jwt.${key}`, 'a file path', given[key]);
    const file = path.resolve(cwd, given[key]);
    if (!isFile(file)) throw invalid(`jwt.${key}`, 'an existing file', file);
    resolved[key] = file;
  }
  const algorithms = given.algorithms ?? (given.secret !== undefined ? ['HS256'] : ['RS256', 'ES256']);
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => typeof a === 'string' && JWT_ALGORITHMS.has(a))) {
    throw invalid('jwt.algorithms', `a non-empty array of ${[...JWT_ALGORITHMS].join(', ')}`, algorithms);
  }
  // A shared secret with an asymmetric algorithm (or a public key with HS256) is the classic algorithm-confusion hole.
  const symmetric = algorithms.map((a: string) => a.startsWith('HS'));
  if (symmetric.some((s) => s !== (given.secret !== undefined))) {
    throw invalid('jwt.algorithms', given.secret !== undefined ? 'HS256, HS384 or HS512 with a secret' : 'asymmetric algorithms (not HS*) with a public key or JWKS', algorithms);
  }
  resolved.algorithms = Object.freeze([...(algorithms as string[])]);
  for (const key of ['audience', 'issuer'] as const) {
    if (given[key] === undefined) continue;
    if (!isStringOrList(given[key])) throw invalid(`jwt.${key}`, 'a non-empty string or array of them', given[key]);
    resolved[key] = given[key];
  }
  resolved.clockTolerance = integer('jwt.clockTolerance', given.clockTolerance, 0, 0, 3600, undefined);
  const from = given.from ?? ['header:authorization', 'protocol', 'cookie:token', 'query:token'];
  if (!Array.isArray(from) || from.length === 0 || !from.every((f) => typeof f === 'string' && TOKEN_SOURCE.test(f))) {
    throw invalid('jwt.from', 'a non-empty array of "header:<name>", "query:<name>", "cookie:<name>" or "protocol"', from);
  }
  resolved.from = Object.freeze(from.map((f: string) => (f.startsWith('header:') ? f.toLowerCase() : f)));
  const userClaim = given.userClaim ?? 'sub';
  if (typeof userClaim !== 'string' || userClaim.length === 0) throw invalid('jwt.userClaim', 'a claim name', userClaim);
  resolved.userClaim = userClaim;
  return Object.freeze(resolved) as JwtOptions;
}
