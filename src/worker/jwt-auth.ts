/**
 * The built-in authenticator for the common case: a JWT, verified with
 * `jose` (a shared secret's HS* on the main thread instead: jwt-hmac.ts),
 * taken from the first of the configured places that has one. Each
 * way a token can be wrong is a 401 with its own stable code (errors.ts), so
 * a client (and a test) can tell an expired token from a forged one; none of
 * them reaches a service.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type * as JoseModule from 'jose';
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { SwitchyardError, type ErrorCode } from '../errors';
import type { JwtOptions, TokenSource } from '../options-spec';
import { AuthRefusedError, MAX_USER_LENGTH, type AuthenticateFunction, type AuthRequest, type Identity } from './authenticate';
import { nativeImport } from '../user-module';
import { verifyHmacJwt, type HmacVerifyOptions } from './jwt-hmac';

type Jose = typeof JoseModule;

/** The prefix of a `Sec-WebSocket-Protocol` entry that carries a token: `bearer.<jwt>`. */
export const PROTOCOL_TOKEN_PREFIX = 'bearer.';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** The first token found in the configured places, in order; undefined when none has one. */
export function findToken(request: AuthRequest, from: readonly TokenSource[]): string | undefined {
  for (const source of from) {
    const token = tokenFrom(request, source);
    if (token !== undefined && token.length > 0) return token;
  }
  return undefined;
}

function tokenFrom(request: AuthRequest, source: TokenSource): string | undefined {
  if (source === 'protocol') return protocolToken(request.headers['sec-websocket-protocol']);
  const colon = source.indexOf(':');
  const kind = source.slice(0, colon);
  const name = source.slice(colon + 1);
  switch (kind) {
    case 'query':
      return request.query[name];
    case 'cookie':
      return request.cookies[name];
    case 'header': {
      const raw = request.headers[name];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value === undefined || name !== 'authorization') return value;
      // Another scheme (Basic, …) is not ours: the next place is looked at.
      return BEARER.exec(value)?.[1];
    }
    default:
      return undefined;
  }
}

function protocolToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const entry of header.split(',')) {
    const protocol = entry.trim();
    if (protocol.startsWith(PROTOCOL_TOKEN_PREFIX)) return protocol.slice(PROTOCOL_TOKEN_PREFIX.length);
  }
  return undefined;
}

/**
 * ws's `handleProtocols` when tokens may come in `Sec-WebSocket-Protocol`:
 * the server answers with the first offered protocol that is not a token, so
 * the token is never echoed back; a client that offers only the token gets
 * no protocol (browsers then fail the connection: offer a second one).
 */
export function selectProtocol(protocols: ReadonlySet<string>): string | false {
  for (const protocol of protocols) if (!protocol.startsWith(PROTOCOL_TOKEN_PREFIX)) return protocol;
  return false;
}

function refuse(code: ErrorCode, message: string): AuthRefusedError {
  return new AuthRefusedError(401, code, message);
}

/** A jose error as the 401 it becomes; each kind keeps its own code. */
function refusalOf(error: unknown): AuthRefusedError {
  const { code, claim } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refuse('SY_ERR_AUTH_TOKEN_EXPIRED', 'The token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') return refuse('SY_ERR_AUTH_TOKEN_AUDIENCE', 'The token is not meant for this server (aud)');
      if (claim === 'iss') return refuse('SY_ERR_AUTH_TOKEN_ISSUER', 'The token is not from an accepted issuer (iss)');
      return refuse('SY_ERR_AUTH_TOKEN_CLAIMS', `The token's "${String(claim)}" claim is not valid`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refuse('SY_ERR_AUTH_TOKEN_SIGNATURE', 'The token is not signed by an accepted key and algorithm');
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, a header jose cannot use: whatever the client sent, it is not a token we take.
      return refuse('SY_ERR_AUTH_TOKEN_MALFORMED', 'The token is not a well-formed JWT');
  }
}

/** The HS* algorithms jwt-hmac.ts verifies. */
const HMAC_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);

/**
 * The authenticator for a shared secret: HMAC on the main thread
 * (jwt-hmac.ts), no jose and no WebCrypto. Measured before it, WebCrypto's
 * `subtle.verify` (a thread-pool job and a promise per token) left the
 * worker waiting under a storm even with the key imported once.
 */
function hmacAuthenticator(secret: string, options: JwtOptions, from: readonly TokenSource[], userClaim: string): AuthenticateFunction {
  const algorithms = new Set((options.algorithms ?? ['HS256']).filter((alg) => HMAC_ALGORITHMS.has(alg)));
  if (algorithms.size === 0) throw new SwitchyardError('SY_ERR_INVALID_OPTION', 'options.jwt.algorithms has no HS* algorithm for options.jwt.secret');
  const key = Buffer.from(secret, 'utf8');
  const checks: HmacVerifyOptions = {
    algorithms,
    clockTolerance: options.clockTolerance ?? 0,
    ...(options.audience === undefined ? {} : { audience: typeof options.audience === 'string' ? [options.audience] : options.audience }),
    ...(options.issuer === undefined ? {} : { issuer: typeof options.issuer === 'string' ? [options.issuer] : options.issuer }),
  };
  // Synchronous: authenticate.ts answers a plain value (or a throw) at once, with no timer or promise.
  return (request: AuthRequest): Identity => {
    const token = findToken(request, from);
    if (token === undefined) throw refuse('SY_ERR_AUTH_TOKEN_MISSING', `No token (looked in ${from.join(', ')})`);
    let payload: JWTPayload;
    try {
      payload = verifyHmacJwt(token, key, checks);
    } catch (error) {
      throw refusalOf(error);
    }
    return identityOf(payload, userClaim);
  };
}

/** The identity a verified token names: its `userClaim`, which must be a non-empty string. */
function identityOf(payload: JWTPayload, userClaim: string): Identity {
  const user = payload[userClaim];
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH) {
    throw refuse('SY_ERR_AUTH_TOKEN_CLAIMS', `The token has no "${userClaim}" claim naming the user`);
  }
  return { user, claims: payload };
}

/** The key to verify with, read once at start: a failure names the file. */
function verificationKey(jose: Jose, options: JwtOptions): KeyObject | JWTVerifyGetKey {
  const file = (options.publicKey ?? options.jwksFile) as string;
  try {
    const text = readFileSync(file, 'utf8');
    if (options.publicKey !== undefined) return createPublicKey(text);
    return jose.createLocalJWKSet(JSON.parse(text) as Parameters<Jose['createLocalJWKSet']>[0]);
  } catch (cause) {
    const option = options.publicKey !== undefined ? 'jwt.publicKey' : 'jwt.jwksFile';
    throw new SwitchyardError('SY_ERR_WORKER_MODULE_LOAD_FAILED', `options.${option}: cannot use ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Builds the JWT authenticator; loads jose (ESM) and reads the key. */
export async function createJwtAuthenticator(options: JwtOptions): Promise<AuthenticateFunction> {
  const from = options.from ?? [];
  const userClaim = options.userClaim ?? 'sub';
  if (options.secret !== undefined) return hmacAuthenticator(options.secret, options, from, userClaim);
  const jose = (await nativeImport(pathToFileURL(require.resolve('jose')).href)) as unknown as Jose;
  const key = verificationKey(jose, options);
  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...(options.algorithms ?? [])],
    clockTolerance: options.clockTolerance ?? 0,
    ...(options.audience === undefined ? {} : { audience: options.audience as string | string[] }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer as string | string[] }),
  };
  return async (request: AuthRequest): Promise<Identity> => {
    const token = findToken(request, from);
    if (token === undefined) throw refuse('SY_ERR_AUTH_TOKEN_MISSING', `No token (looked in ${from.join(', ')})`);
    let payload: JWTPayload;
    try {
      // The three overloads differ only in the key's type.
      payload = typeof key === 'function' ? (await jose.jwtVerify(token, key, verifyOptions)).payload : (await jose.jwtVerify(token, key, verifyOptions)).payload;
    } catch (error) {
      throw refusalOf(error);
    }
    return identityOf(payload, userClaim);
  };
}
