import { verifyHmacJwt } from '../../../../src/worker/jwt-hmac';
import { BENCH_JWT_SECRET, benchToken, benchTokens } from '../../suite/jwt-token';

const options = { algorithms: new Set(['HS256']), clockTolerance: 0 };
const secret = Buffer.from(BENCH_JWT_SECRET);

test("the bench token passes the server's own HS256 check, for user bench", () => {
  expect(verifyHmacJwt(benchToken(), secret, options)).toMatchObject({ sub: 'bench' });
});

test('the storm gets distinct tokens, each valid and for a user of its own', () => {
  const tokens = benchTokens(50);
  expect(new Set(tokens).size).toBe(50);
  expect(tokens.map((token) => verifyHmacJwt(token, secret, options).sub)).toEqual(Array.from({ length: 50 }, (_, i) => `bench-${i}`));
});

test('a token signed with another secret is refused by that check', () => {
  expect(() => verifyHmacJwt(benchToken('another-secret-of-at-least-32-bytes!!'), secret, options)).toThrow(/signature/);
});
