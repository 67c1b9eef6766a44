/**
 * The `authenticate` option with real clusters and clients: an identity
 * reaches `onConnect` and `onRequest`, every way of refusing answers the
 * upgrade (or the HTTP request) with its status and code before any service
 * sees it, the time and concurrency bounds hold, `sendToUser`/`closeUser`
 * reach every connection of a user, and a module that cannot load fails the
 * start naming itself.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSwitchyardError } from '../../src/errors';
import { closeAll, closeClients, connect, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';
import { upgradeStatus } from '../helpers/upgrade-status';

afterAll(closeAll);

const AUTH = path.join(FIXTURES, 'auth');
const services = { id: path.join(AUTH, 'identity.ts') };
const authenticate = path.join(AUTH, 'authenticate.ts');

interface IdentityMessage {
  readonly type: 'identity';
  readonly id: string;
  readonly user: string | null;
  readonly claims: Record<string, unknown> | null;
  readonly hasUserKey: boolean;
}

function identityOf(client: TestClient): Promise<IdentityMessage> {
  return client.json<IdentityMessage>((m) => m.type === 'identity');
}

describe('authenticate, on one cluster of 2 workers', () => {
  let port = 0;
  beforeAll(async () => {
    ({ port } = await startCluster({ services, authenticate }));
  });
  afterEach(closeClients);

  test('an accepted upgrade: user and claims (query, cookies, method, path) reach onConnect', async () => {
    const client = await connect(port, '/id?user=ann&role=admin', { headers: { cookie: 'other=1; session=s%20one' } });
    const identity = await identityOf(client);
    expect(identity).toMatchObject({ user: 'ann', claims: { role: 'admin', session: 's one', method: 'GET', path: '/id' } });
  });

  test('refusals: a RequestError gives its status and body, anything else a plain 500, a bad identity 500', async () => {
    const missing = await upgradeStatus(port, '/id');
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no-user', message: 'who are you?' });
    const denied = await upgradeStatus(port, '/id?deny');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toEqual({ error: 'forbidden', message: 'no entry for you' });
    const thrown = await upgradeStatus(port, '/id?throw');
    expect(thrown.status).toBe(500);
    expect(JSON.parse(thrown.body)).toMatchObject({ error: 'SY_ERR_AUTH_FAILED' });
    expect(thrown.body).not.toContain('hunter2');
    const bad = await upgradeStatus(port, '/id?bad');
    expect(bad.status).toBe(500);
    expect(JSON.parse(bad.body)).toMatchObject({ error: 'SY_ERR_AUTH_FAILED' });
    // Claims past maxClaimsBytes (4 KiB by default) are refused rather than carried with every connect.
    const big = await upgradeStatus(port, '/id?big');
    expect(big.status).toBe(500);
    // The worker serves on: a good client still connects.
    expect((await identityOf(await connect(port, '/id?user=bo'))).user).toBe('bo');
  });

  test('HTTP requests to /services/<name> are authenticated first: 401 before the service is called, the identity in onRequest', async () => {
    const url = `http://127.0.0.1:${port}/services/id`;
    const first = (await (await fetch(`${url}?user=carl`)).json()) as { calls: number };
    const refused = await fetch(url, { method: 'POST', body: 'payload' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'no-user', message: 'who are you?' });
    const accepted = await fetch(`${url}?user=carl`, { headers: { cookie: 'session=abc' } });
    expect(accepted.status).toBe(200);
    // One call more than before: the refused request never reached onRequest.
    expect(await accepted.json()).toEqual({ transport: 'http', user: 'carl', claims: { role: 'none', session: 'abc', method: 'GET', path: '/services/id' }, calls: first.calls + 1 });
  });

  test('envelope requests carry the connection’s identity', async () => {
    const client = await connect(port, '/id?user=dora');
    client.sendJson({ $req: 1, data: null });
    const reply = await client.json<{ $res: number; data: { user: string; transport: string } }>((m) => m.$res === 1);
    expect(reply.data).toMatchObject({ transport: 'websocket', user: 'dora' });
  });

  test('sendToUser and closeUser reach every connection of a user, on every worker, and no one else', async () => {
    const ann = await Promise.all([connect(port, '/id?user=ann'), connect(port, '/id?user=ann'), connect(port, '/id?user=ann')]);
    const bob = await connect(port, '/id?user=bob');
    const ids = await Promise.all(ann.map(identityOf));
    // Round-robin over 2 workers: ann has connections on both.
    expect(new Set(ids.map((identity) => identity.id.split('.')[0])).size).toBe(2);
    await identityOf(bob);
    bob.socket.send('toUser:ann:hello ann');
    expect(await bob.json((m) => m.type === 'sent')).toEqual({ type: 'sent', count: 3 });
    for (const client of ann) await client.received(2);
    for (const client of ann) expect(client.messages[1]).toBe('hello ann');
    bob.socket.send('closeUser:ann');
    expect(await bob.json((m) => m.type === 'closed')).toEqual({ type: 'closed', count: 3 });
    expect(await Promise.all(ann.map((client) => client.closed))).toEqual([4001, 4001, 4001]);
    expect(bob.messages.length).toBe(3);
    expect(bob.closeCode).toBeUndefined();
  });
});

describe('authenticate, a cluster each', () => {
  afterEach(closeAll);

  test('without an authenticator a client carries no identity fields at all', async () => {
    const { port } = await startCluster({ services });
    const identity = await identityOf(await connect(port, '/id?user=ann'));
    expect(identity).toMatchObject({ user: null, claims: null, hasUserKey: false });
  });

  test('a slow authenticator is answered 503 SY_ERR_AUTH_TIMEOUT at handshakeTimeout', async () => {
    const { port } = await startCluster({ services, authenticate, handshakeTimeout: 500, workers: 1 });
    const started = Date.now();
    const slow = await upgradeStatus(port, '/id?slow');
    const elapsed = Date.now() - started;
    expect(slow.status).toBe(503);
    expect(slow.headers['retry-after']).toBe('1');
    expect(JSON.parse(slow.body)).toMatchObject({ error: 'SY_ERR_AUTH_TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3000);
  });

  test('past maxConcurrentAuth calls in progress, an upgrade gets 503 SY_ERR_AUTH_BUSY with Retry-After', async () => {
    const { port } = await startCluster({ services, authenticate, handshakeTimeout: 2000, maxConcurrentAuth: 2, workers: 1 });
    const slowOnes = [upgradeStatus(port, '/id?slow'), upgradeStatus(port, '/id?slow')];
    // The two slow calls hold both slots until their timeout; wait until a third is refused (the first two may still be on their way in).
    let busy = await upgradeStatus(port, '/id?user=ann');
    for (let tries = 0; busy.status === 101 && tries < 50; tries++) busy = await upgradeStatus(port, '/id?user=ann');
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(JSON.parse(busy.body)).toMatchObject({ error: 'SY_ERR_AUTH_BUSY' });
    expect((await Promise.all(slowOnes)).map((answer) => answer.status)).toEqual([503, 503]);
    // Once they are answered, their slots are free again.
    expect((await upgradeStatus(port, '/id?user=ann')).status).toBe(101);
  });

  test('an ESM module with top-level await is loaded with import()', async () => {
    const { port } = await startCluster({ services, authenticate: path.join(AUTH, 'esm-auth.mjs'), workers: 1 });
    expect((await identityOf(await connect(port, '/id?user=eve'))).user).toBe('esm-eve');
  });

  test('a module broken before a reload: the reload fails naming it, the old workers keep serving with the old one', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'switchyard-auth-'));
    const file = path.join(folder, 'auth.mjs');
    copyFileSync(path.join(AUTH, 'esm-auth.mjs'), file);
    try {
      const { server, port } = await startCluster({ services, authenticate: file, workers: 1 });
      const before = await connect(port, '/id?user=fay');
      expect((await identityOf(before)).user).toBe('esm-fay');
      copyFileSync(path.join(AUTH, 'broken-auth.mjs'), file);
      const error: unknown = await server.reload().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isSwitchyardError(error, 'SY_ERR_WORKER_START_FAILED')).toBe(true);
      expect((error as Error).message).toContain(file);
      expect(before.closeCode).toBeUndefined();
      expect((await identityOf(await connect(port, '/id?user=gus'))).user).toBe('esm-gus');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a module that cannot load fails the start with an error naming it', async () => {
    const broken = path.join(AUTH, 'broken-auth.mjs');
    const error: unknown = await startCluster({ services, authenticate: broken, workers: 1 }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isSwitchyardError(error, 'SY_ERR_WORKER_START_FAILED')).toBe(true);
    expect((error as Error).message).toContain(broken);
    expect((error as Error).message).toContain('broken on purpose');
  });
});
