/**
 * HS256/384/512 JWT verification on the main thread (node:crypto `createHmac`
 * and `timingSafeEqual`), for `jwt: { secret }`. jose verifies through
 * WebCrypto, whose `subtle.verify` is a job on libuv's thread pool and a
 * promise per token: under a connection storm the worker waited on that hop
 * for every upgrade (docs/bench-results.md, "JWT"). This makes the checks
 * jose 6 makes for a compact JWS and its claims, in the same order, so that
 * each bad token gets the same refusal code as before:
 * the compact form and base64url segments, a protected header that is a JSON
 * object (strict UTF-8), `crit` (only `b64` is understood, and an unencoded
 * payload is refused), `alg` against the allowlist, the signature, then the
 * claims set: a JSON object, `aud` and `iss` present and accepted, `iat`,
 * `nbf` and `exp` numbers, `nbf` and `exp` against the clock with
 * `clockTolerance`. RS*, ES* and EdDSA stay with jose (jwt-auth.ts).
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';

/** What a token failed, as jose names it (its error codes), for jwt-auth.ts's `refusalOf`. */
export class JwtCheckError extends Error {
  constructor(
    readonly code: 'ERR_JWS_INVALID' | 'ERR_JWT_INVALID' | 'ERR_JOSE_NOT_SUPPORTED' | 'ERR_JOSE_ALG_NOT_ALLOWED' | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' | 'ERR_JWT_CLAIM_VALIDATION_FAILED' | 'ERR_JWT_EXPIRED',
    message: string,
    readonly claim?: string,
  ) {
    super(message);
  }
}

/** The checks besides the signature, resolved once. */
export interface HmacVerifyOptions {
  readonly algorithms: ReadonlySet<string>;
  /** Seconds. */
  readonly clockTolerance: number;
  readonly audience?: readonly string[];
  readonly issuer?: readonly string[];
}

const NODE_HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

const BASE64URL_BODY = /^[A-Za-z0-9_-]*$/;
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * base64url as jose decodes it on Node without `Uint8Array.fromBase64`:
 * `+` and `/` refused, then WHATWG's forgiving base64 (`atob`): ASCII
 * whitespace ignored, padding optional, a length of 4n+1 refused.
 */
export function decodeBase64url(text: string): Buffer {
  // What every token a JWT library writes is: no padding, no whitespace. The general path below gives the same bytes for it.
  if (text.length % 4 !== 1 && BASE64URL_BODY.test(text)) return Buffer.from(text, 'base64url');
  if (text.includes('+') || text.includes('/')) throw new TypeError('Invalid base64url');
  let data = text.replace(ASCII_WHITESPACE, '');
  if (data.length % 4 === 0) {
    if (data.endsWith('==')) data = data.slice(0, -2);
    else if (data.endsWith('=')) data = data.slice(0, -1);
  }
  if (data.length % 4 === 1 || !BASE64URL_BODY.test(data)) throw new TypeError('Invalid base64url');
  return Buffer.from(data, 'base64url');
}

/**
 * The bytes as text, as `new TextDecoder('utf-8', { fatal: true })` decodes
 * them (invalid UTF-8 refused, one leading BOM dropped), without its cost:
 * simdutf's checks, and ASCII (every JSON a JWT library writes) as latin1.
 */
export function strictUtf8(bytes: Buffer): string | undefined {
  if (isAscii(bytes)) return bytes.toString('latin1');
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A JSON object (not an array, not null), as jose's `isObject` sees what JSON.parse returns. */
function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  const text = strictUtf8(bytes);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

function decoded(segment: string, what: string): Buffer {
  try {
    return decodeBase64url(segment);
  } catch {
    throw new JwtCheckError('ERR_JWS_INVALID', `Failed to base64url decode the ${what}`);
  }
}

/** `crit` as jose checks it with only `b64` recognized; true when the payload is base64url-encoded (the only form a JWT may take). */
function checkCrit(header: Record<string, unknown>): boolean {
  const { crit } = header;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
    throw new JwtCheckError('ERR_JWS_INVALID', '"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present');
  }
  for (const parameter of crit as string[]) {
    if (parameter !== 'b64') throw new JwtCheckError('ERR_JOSE_NOT_SUPPORTED', `Extension Header Parameter "${parameter}" is not recognized`);
    if (header.b64 === undefined) throw new JwtCheckError('ERR_JWS_INVALID', 'Extension Header Parameter "b64" is missing');
  }
  if (typeof header.b64 !== 'boolean') throw new JwtCheckError('ERR_JWS_INVALID', 'The "b64" (base64url-encode payload) Header Parameter must be a boolean');
  return header.b64;
}

function numericDate(claims: Record<string, unknown>, claim: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${claim}" claim must be a number`, claim);
  return value;
}

function checkClaims(claims: Record<string, unknown>, options: HmacVerifyOptions, now: number): void {
  // jose checks presence in this order (its list, reversed): iss before aud.
  if (options.issuer !== undefined && !Object.hasOwn(claims, 'iss')) throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'missing required "iss" claim', 'iss');
  if (options.audience !== undefined && !Object.hasOwn(claims, 'aud')) throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'missing required "aud" claim', 'aud');
  if (options.issuer !== undefined && !options.issuer.includes(claims.iss as string)) throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "iss" claim value', 'iss');
  if (options.audience !== undefined) {
    const { aud } = claims;
    const accepted = typeof aud === 'string' ? options.audience.includes(aud) : Array.isArray(aud) ? options.audience.some((name) => aud.includes(name)) : false;
    if (!accepted) throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "aud" claim value', 'aud');
  }
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + options.clockTolerance) throw new JwtCheckError('ERR_JWT_CLAIM_VALIDATION_FAILED', '"nbf" claim timestamp check failed', 'nbf');
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - options.clockTolerance) throw new JwtCheckError('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed', 'exp');
}

/**
 * Verifies a compact JWT signed with the shared `secret` by one of the
 * allowed HS* algorithms, and its claims at `nowMs`; returns the claims set
 * or throws a `JwtCheckError` with jose's code for the first check it fails.
 */
/** What a protected header gave when it passed the header's checks (`alg` is not yet held against an allowlist). */
interface HeaderVerdict {
  readonly encoded: string;
  readonly alg: string;
  readonly b64: boolean;
}

/**
 * The last header that passed: an issuer writes the same header on every
 * token (`{"alg":"HS256","typ":"JWT"}`), so its decoding and checks are
 * made once, not per upgrade. Its verdict depends on its text alone.
 */
let lastHeader: HeaderVerdict | undefined;

/** The protected header's checks, in jose's order: decoded, a JSON object, `crit`, `alg` present. */
function checkHeader(encoded: string): HeaderVerdict {
  if (lastHeader !== undefined && lastHeader.encoded === encoded) return lastHeader;
  const header = jsonObject(decoded(encoded, 'protected header'));
  if (header === undefined) throw new JwtCheckError('ERR_JWS_INVALID', 'JWS Protected Header is invalid');
  const b64 = checkCrit(header);
  const { alg } = header;
  if (typeof alg !== 'string' || alg.length === 0) throw new JwtCheckError('ERR_JWS_INVALID', 'JWS "alg" (Algorithm) Header Parameter missing or invalid');
  lastHeader = { encoded, alg, b64 };
  return lastHeader;
}

export function verifyHmacJwt(token: string, secret: Buffer, options: HmacVerifyOptions, nowMs: number = Date.now()): JWTPayload {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) throw new JwtCheckError('ERR_JWS_INVALID', 'Invalid Compact JWS');
  const encodedPayload = token.slice(first + 1, second);
  const { alg, b64 } = checkHeader(token.slice(0, first));
  if (!options.algorithms.has(alg)) throw new JwtCheckError('ERR_JOSE_ALG_NOT_ALLOWED', '"alg" (Algorithm) Header Parameter value not allowed');
  // The signing input is the ASCII of the first two segments (the header's is base64url already).
  if (NON_ASCII.test(encodedPayload)) throw new JwtCheckError('ERR_JWS_INVALID', 'The payload is not a valid base64url string');
  const signature = decoded(token.slice(second + 1), 'signature');
  // The allowlist holds only HS* with a secret (options.ts refuses any other mix).
  const expected = createHmac(NODE_HASHES[alg] as string, secret).update(token.slice(0, second), 'latin1').digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new JwtCheckError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  }
  if (!b64) throw new JwtCheckError('ERR_JWT_INVALID', 'JWTs MUST NOT use unencoded payload');
  const claims = jsonObject(decoded(encodedPayload, 'payload'));
  if (claims === undefined) throw new JwtCheckError('ERR_JWT_INVALID', 'JWT Claims Set must be a top-level JSON object');
  checkClaims(claims, options, Math.floor(nowMs / 1000));
  return claims as JWTPayload;
}
