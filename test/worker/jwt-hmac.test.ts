/**
 * The synchronous HS* verifier (jwt-hmac.ts) on every case of
 * test/fixtures/auth/hmac-cases.ts: each refusal with jose's code (and claim),
 * each good token with its claims. That jose gives the same answers is
 * checked against jose itself in test/integration/jwt-hmac-jose.test.ts.
 */
import { HMAC_CASES, NOW_MS, SECRET } from '../fixtures/auth/hmac-cases';
import { JwtCheckError, decodeBase64url, strictUtf8, verifyHmacJwt } from '../../src/worker/jwt-hmac';

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

test('the verdicts do not depend on the order of the tokens: a header checked once is not trusted for another text', () => {
  // Every case twice, forwards then backwards: each header's remembered verdict (jwt-hmac.ts keeps the last good one) meets every other token.
  const cases = [...HMAC_CASES, ...[...HMAC_CASES].reverse()];
  for (const c of cases) expect({ name: c.name, verdict: outcome(c) }).toEqual({ name: c.name, verdict: c.expected });
});

test('strict UTF-8 decodes as TextDecoder with fatal does: invalid bytes refused, one leading BOM dropped', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reference = (bytes: Buffer): string | undefined => {
    try {
      return decoder.decode(bytes);
    } catch {
      return undefined;
    }
  };
  const samples = [
    Buffer.from('{"sub":"ada"}'),
    Buffer.from('\ufeff{"a":1}'),
    Buffer.from('\ufeff\ufeff{}'),
    Buffer.from('{"name":"Zoë 🚀"}'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    Buffer.from([0xef, 0xbb]),
    Buffer.alloc(0),
  ];
  // And bytes at random, mostly high ones so that invalid sequences are common.
  let seed = 17;
  for (let n = 0; n < 500; n++) {
    const bytes = Buffer.alloc(1 + (n % 12));
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      bytes[i] = seed % 3 === 0 ? seed % 128 : 128 + (seed % 128);
    }
    samples.push(bytes);
  }
  for (const bytes of samples) expect({ bytes: bytes.toString('hex'), text: strictUtf8(bytes) }).toEqual({ bytes: bytes.toString('hex'), text: reference(bytes) });
});
