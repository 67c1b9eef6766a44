/**
 * The synchronous HS* verifier (jwt-hmac.ts) on every case of
 * test/fixtures/auth/hmac-cases.ts: each refusal with jose's code (and claim),
 * each good token with its claims. That jose gives the same answers is
 * checked against jose itself in test/integration/jwt-hmac-jose.test.ts.
 */
import { HMAC_CASES, NOW_MS, SECRET } from '../fixtures/auth/hmac-cases';
import { JwtCheckError, decodeBase64url, verifyHmacJwt } from '../../src/worker/jwt-hmac';

function outcome(c: (typeof HMAC_CASES)[number]): { code: string; claim?: string } | 'ok' {
  try {
    verifyHmacJwt(c.token, Buffer.from(SECRET), {
      algorithms: new Set(c.algorithms),
      clockTolerance: c.clockTolerance,
      ...(c.audience === undefined ? {} : { audience: c.audience }),
      ...(c.issuer === undefined ? {} : { issuer: c.issuer }),
    }, NOW_MS);
    return 'ok';
  } catch (error) {
    if (!(error instanceof JwtCheckError)) throw error;
    return error.claim === undefined ? { code: error.code } : { code: error.code, claim: error.claim };
  }
}

test.each(HMAC_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  expect(outcome(c)).toEqual(c.expected);
});

test('a good token gives back its claims set', () => {
  const good = HMAC_CASES[0];
  const claims = verifyHmacJwt(good?.token as string, Buffer.from(SECRET), { algorithms: new Set(['HS256']), clockTolerance: 0 }, NOW_MS);
  expect(claims).toMatchObject({ sub: 'ada' });
});

test('base64url as jose decodes it without Uint8Array.fromBase64: whitespace and padding allowed, + and / and 4n+1 refused', () => {
  expect(decodeBase64url('YWJj').toString()).toBe('abc');
  expect(decodeBase64url('YW Jj\n').toString()).toBe('abc');
  expect(decodeBase64url('YWI=').toString()).toBe('ab');
  expect(decodeBase64url('YWI').toString()).toBe('ab');
  expect(decodeBase64url('-_8').toString('hex')).toBe('fbff');
  for (const bad of ['YW+j', 'YW/j', 'YWJjZ', 'YW=j', 'YQ===', '%%']) expect(() => decodeBase64url(bad)).toThrow(TypeError);
});
