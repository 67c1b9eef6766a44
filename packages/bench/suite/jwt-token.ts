/**
 * The JWT row's secret and token: the Switchyard side verifies HS256 tokens
 * with `jwt: { secret }` (`SWITCHYARD_BENCH_JWT_SECRET`), and every bench
 * connection presents the same token in its URL (`?token=`, one of the
 * authenticator's default places). Signed here with node:crypto: the bench
 * needs no JWT library of its own.
 */
import { createHmac } from 'node:crypto';

export const JWT_SECRET_ENV = 'SWITCHYARD_BENCH_JWT_SECRET';
/** At least 32 bytes, as the server requires for HS256. */
export const BENCH_JWT_SECRET = 'switchyard-bench-jwt-secret-of-32-bytes-or-more';

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** An HS256 token for user `bench`, valid for a day from now. */
export function benchToken(secret: string = BENCH_JWT_SECRET, now: number = Date.now()): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const seconds = Math.floor(now / 1000);
  const payload = base64url(JSON.stringify({ sub: 'bench', iat: seconds, exp: seconds + 86_400 }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
