/**
 * Mints JWTs for tests with node:crypto alone (jose is ESM-only, which jest's
 * CommonJS runtime cannot load; the workers load it themselves). HS256 with a
 * secret, RS256 or ES256 with a private key.
 */
import { createHmac, sign, type KeyObject } from 'node:crypto';

export type Signer = { readonly alg: 'HS256'; readonly secret: string } | { readonly alg: 'RS256' | 'ES256'; readonly key: KeyObject; readonly kid?: string };

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A signed compact JWT of `payload`; `iat` is not added (tests set what they check). */
export function mintJwt(payload: Record<string, unknown>, signer: Signer): string {
  const header = signer.alg === 'HS256' || signer.kid === undefined ? { alg: signer.alg, typ: 'JWT' } : { alg: signer.alg, typ: 'JWT', kid: signer.kid };
  const input = `${encode(header)}.${encode(payload)}`;
  let signature: Buffer;
  if (signer.alg === 'HS256') signature = createHmac('sha256', signer.secret).update(input).digest();
  else if (signer.alg === 'RS256') signature = sign('sha256', Buffer.from(input), signer.key);
  else signature = sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Seconds since the epoch, as JWT times are. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
