/**
 * jose itself on the cases the synchronous HS* verifier is tested with
 * (test/fixtures/auth/hmac-cases.ts): the expected refusals are jose's, so
 * replacing jose's verify by jwt-hmac.ts for a shared secret changes no
 * client's answer. jose is ESM-only: it runs in a child process.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { HMAC_CASES } from '../fixtures/auth/hmac-cases';

test('jose gives every case the verdict the synchronous verifier is held to', () => {
  const script = path.join(__dirname, '..', 'fixtures', 'auth', 'jose-verdicts.ts');
  const run = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), script], { encoding: 'utf8', timeout: 20000 });
  expect(run.stderr).toBe('');
  const verdicts = JSON.parse(run.stdout) as unknown[];
  expect(verdicts).toHaveLength(HMAC_CASES.length);
  HMAC_CASES.forEach((c, i) => expect({ name: c.name, verdict: verdicts[i] }).toEqual({ name: c.name, verdict: c.expected }));
}, 30000);
