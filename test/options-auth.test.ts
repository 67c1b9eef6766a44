/** The `authenticate`, `jwt` and `http` options: resolved paths, and every mistake refused at once with a dotted name. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveOptions, type SwitchyardOptions } from '../src/options';

const cwd = mkdtempSync(path.join(tmpdir(), 'sy-auth-options-'));
writeFileSync(path.join(cwd, 'auth.mjs'), 'export default () => ({ user: "x" });');
writeFileSync(path.join(cwd, 'key.pem'), '');
const secret = 's'.repeat(32);

test('defaults: no authenticator, no app', () => {
  const options = resolveOptions({ cwd });
  expect([options.authenticate, options.jwt, options.http, options.maxConcurrentAuth, options.maxClaimsBytes]).toEqual([false, false, false, 128, 4096]);
});

test('module paths resolve against cwd; jwt gets its defaults', () => {
  const options = resolveOptions({ cwd, authenticate: './auth.mjs', http: 'auth.mjs' });
  expect(options.authenticate).toBe(path.join(cwd, 'auth.mjs'));
  expect(options.http).toBe(path.join(cwd, 'auth.mjs'));
  expect(resolveOptions({ cwd, jwt: { secret } }).jwt).toEqual({
    secret,
    algorithms: ['HS256'],
    clockTolerance: 0,
    from: ['header:authorization', 'protocol', 'cookie:token', 'query:token'],
    userClaim: 'sub',
  });
  expect(resolveOptions({ cwd, jwt: { publicKey: 'key.pem', from: ['header:X-Token'] } }).jwt).toMatchObject({ publicKey: path.join(cwd, 'key.pem'), algorithms: ['RS256', 'ES256'], from: ['header:x-token'] });
});

test.each<[string, SwitchyardOptions, string]>([
  ['a missing module', { authenticate: './nope.mjs' }, 'options.authenticate must be an existing module file or false'],
  ['a module that is not a string', { http: 42 as unknown as string }, 'options.http must be a module path or false'],
  ['both authenticators', { authenticate: './auth.mjs', jwt: { secret } }, 'options.jwt must be false when options.authenticate is set'],
  ['no key', { jwt: {} }, 'options.jwt must be given exactly one of secret, publicKey, jwksFile'],
  ['two keys', { jwt: { secret, publicKey: 'key.pem' } }, 'options.jwt must be given exactly one of'],
  ['a short secret', { jwt: { secret: 'short' } }, 'options.jwt.secret must be a string of at least 32 bytes, got "(hidden)"'],
  ['a missing key file', { jwt: { jwksFile: 'nope.json' } }, 'options.jwt.jwksFile must be an existing file'],
  ['an unknown field', { jwt: { secret, audiences: 'x' } as never }, 'options.jwt.audiences must be a known field'],
  ['an unknown algorithm', { jwt: { secret, algorithms: ['HS1'] } }, 'options.jwt.algorithms must be a non-empty array of'],
  ['an asymmetric algorithm with a secret', { jwt: { secret, algorithms: ['RS256'] } }, 'options.jwt.algorithms must be HS256, HS384 or HS512 with a secret'],
  ['HS256 with a public key', { jwt: { publicKey: 'key.pem', algorithms: ['HS256'] } }, 'options.jwt.algorithms must be asymmetric algorithms'],
  ['a bad token source', { jwt: { secret, from: ['body:token' as never] } }, 'options.jwt.from must be a non-empty array of'],
  ['an empty audience', { jwt: { secret, audience: '' } }, 'options.jwt.audience must be a non-empty string'],
  ['a clock tolerance that is not an integer', { jwt: { secret, clockTolerance: 1.5 } }, 'options.jwt.clockTolerance must be an integer from 0 to 3600'],
  ['maxConcurrentAuth 0', { maxConcurrentAuth: 0 }, 'options.maxConcurrentAuth must be an integer from 1 to 1000000'],
])('%s is refused', (_name, options, message) => {
  expect(() => resolveOptions({ cwd, ...options })).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_OPTION', message: expect.stringContaining(message) }));
});
