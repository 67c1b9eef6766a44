/**
 * The JWT row's secret and token: the Switchyard side verifies HS256 tokens
 * with `jwt: { secret }` (`SWITCHYARD_BENCH_JWT_SECRET`), and every bench
 * connection presents the same token in its URL (`?token=`, one of the
 * authenticator's default places). The storm gives each connection a token
 * of its own (`benchTokens`), so that the row measures a verify per connect
 * whatever a verifier might keep between calls. Signed here with node:crypto:
 * the bench needs no JWT library of its own.
 */
import { createHmac } from 'node:crypto';

export const JWT_SECRET_ENV = 'SWITCHYARD_BENCH_JWT_SECRET';
/** At least 32 bytes, as the server requires for HS256. */
export const BENCH_JWT_SECRET = 'switchyard-bench-jwt-secret-of-32-bytes-or-more';

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** An HS256 token for user `subject` (default `bench`), valid for a day from now. */
export function benchToken(secret: string = BENCH_JWT_SECRET, now: number = Date.now(), subject = 'bench'): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const seconds = Math.floor(now / 1000);
  const payload = base64url(JSON.stringify({ sub: subject, iat: seconds, exp: seconds + 86_400 }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** `count` distinct tokens, for users `bench-0` … `bench-<count-1>`: one per connection of a storm. */
export function benchTokens(count: number, secret: string = BENCH_JWT_SECRET, now: number = Date.now()): string[] {
  return Array.from({ length: count }, (_, index) => benchToken(secret, now, `bench-${index}`));
}
