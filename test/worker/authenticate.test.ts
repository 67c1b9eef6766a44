/**
 * The authenticator's bounds and answers, driven directly (no processes):
 * cookies parsed, identities checked, refusals passed through, failures
 * hidden, the time limit and the concurrency bound.
 */
import { recordingLogger } from '../helpers/recording-logger';
import { RequestError } from '../../src/services/request';
import { Authenticator, parseCookies, type AuthOutcome, type AuthRequest, type Identity } from '../../src/worker/authenticate';

const request: AuthRequest = { method: 'GET', path: '/chat', query: {}, headers: {}, cookies: {}, remoteAddress: '127.0.0.1' };
const limits = { timeout: 1000, maxConcurrent: 2, maxClaimsBytes: 64 };

function outcomeOf(authenticator: Authenticator): Promise<AuthOutcome> {
  return new Promise((resolve) => authenticator.run(request, resolve));
}

test('cookies: pairs split on ";", trimmed, quotes removed, percent-decoded when valid, the first of a name kept', () => {
  expect(parseCookies('a=1; b="two";c=%20x ; a=again; bad; d=%E0%A4%A')).toEqual({ a: '1', b: 'two', c: ' x', d: '%E0%A4%A' });
  expect(parseCookies(undefined)).toEqual({});
});

test('an identity is passed on; a RequestError is the answer; anything else is a hidden 500, logged', async () => {
  const { log, warnings } = recordingLogger();
  const identity: Identity = { user: 'ann', claims: { role: 'admin' } };
  expect(await outcomeOf(new Authenticator(() => identity, limits, log))).toEqual({ ok: true, user: 'ann', claims: { role: 'admin' } });
  expect(await outcomeOf(new Authenticator(async () => ({ user: 'bo' }), limits, log))).toEqual({ ok: true, user: 'bo', claims: undefined });
  expect(await outcomeOf(new Authenticator(() => Promise.reject(new RequestError(403, 'nope', 'not you')), limits, log))).toEqual({ ok: false, status: 403, code: 'nope', message: 'not you' });
  const failed = await outcomeOf(
    new Authenticator(() => {
      throw new Error('db password');
    }, limits, log),
  );
  expect(failed).toEqual({ ok: false, status: 500, code: 'SY_ERR_AUTH_FAILED', message: 'Authentication failed' });
  expect(warnings('authenticator failed (answered 500)')).toHaveLength(1);
  // A RequestError with a status that is not an error status is no refusal: a failure.
  expect(await outcomeOf(new Authenticator(() => Promise.reject(new RequestError(200, 'ok', 'fine')), limits, log))).toMatchObject({ status: 500 });
});

test.each<[string, unknown]>([
  ['no object', 'ann'],
  ['an empty user', { user: '' }],
  ['claims that are an array', { user: 'ann', claims: [] }],
  ['claims over maxClaimsBytes', { user: 'ann', claims: { blob: 'x'.repeat(64) } }],
  ['claims JSON cannot hold', { user: 'ann', claims: { n: 1n } }],
])('an identity with %s is refused with 500', async (_name, identity) => {
  const { log } = recordingLogger();
  expect(await outcomeOf(new Authenticator(() => identity as Identity, limits, log))).toMatchObject({ ok: false, status: 500, code: 'SY_ERR_AUTH_FAILED' });
});

describe('bounds', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a call that does not settle is answered 503 at the timeout, and its slot freed; past maxConcurrent, 503 at once', async () => {
    const { log } = recordingLogger();
    const authenticator = new Authenticator(() => new Promise<Identity>(() => undefined), limits, log);
    const outcomes: AuthOutcome[] = [];
    authenticator.run(request, (outcome) => outcomes.push(outcome));
    authenticator.run(request, (outcome) => outcomes.push(outcome));
    expect(authenticator.inProgress).toBe(2);
    authenticator.run(request, (outcome) => outcomes.push(outcome));
    expect(outcomes).toEqual([expect.objectContaining({ status: 503, code: 'SY_ERR_AUTH_BUSY', headers: { 'Retry-After': '1' } })]);
    jest.advanceTimersByTime(999);
    expect(outcomes).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(outcomes.slice(1)).toEqual([expect.objectContaining({ status: 503, code: 'SY_ERR_AUTH_TIMEOUT' }), expect.objectContaining({ code: 'SY_ERR_AUTH_TIMEOUT' })]);
    expect(authenticator.inProgress).toBe(0);
  });

  test('an authenticator that answers synchronously is answered before run returns, with no timer and no slot held', () => {
    const { log } = recordingLogger();
    const outcomes: AuthOutcome[] = [];
    new Authenticator(() => ({ user: 'ann' }), limits, log).run(request, (outcome) => outcomes.push(outcome));
    const refusing = new Authenticator(() => {
      throw new RequestError(401, 'no', 'no token');
    }, limits, log);
    refusing.run(request, (outcome) => outcomes.push(outcome));
    expect(outcomes).toEqual([
      { ok: true, user: 'ann', claims: undefined },
      { ok: false, status: 401, code: 'no', message: 'no token' },
    ]);
    expect(jest.getTimerCount()).toBe(0);
    expect(refusing.inProgress).toBe(0);
    // A promise still holds a slot and its timer until it settles.
    const waiting = new Authenticator(() => new Promise<Identity>(() => undefined), limits, log);
    waiting.run(request, (outcome) => outcomes.push(outcome));
    expect(jest.getTimerCount()).toBe(1);
    expect(waiting.inProgress).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(outcomes[2]).toMatchObject({ code: 'SY_ERR_AUTH_TIMEOUT' });
  });

  test('a result after the timeout is ignored: the caller hears once', async () => {
    const { log } = recordingLogger();
    let settle: (identity: Identity) => void = () => undefined;
    const authenticator = new Authenticator(() => new Promise<Identity>((resolve) => (settle = resolve)), limits, log);
    const done = jest.fn();
    authenticator.run(request, done);
    jest.advanceTimersByTime(1000);
    settle({ user: 'late' });
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toHaveBeenCalledTimes(1);
    expect(done.mock.calls[0]?.[0]).toMatchObject({ code: 'SY_ERR_AUTH_TIMEOUT' });
  });
});
