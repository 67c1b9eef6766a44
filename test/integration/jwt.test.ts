/**
 * The built-in JWT authenticator (option `jwt`) with real clusters and
 * clients: a token from each place it may come from is accepted and its
 * claims reach `onConnect`; each way a token is wrong gets 401 with its own
 * code and reaches no service; HTTP requests to a service need one too; RS256
 * from a PEM file and ES256 from a JWKS file; and a flood of bad tokens does
 * not keep a good client out.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { closeAll, closeClients, connect, startCluster, FIXTURES, TestClient } from '../helpers/cluster';
import { mintJwt, nowSeconds, type Signer } from '../helpers/jwt';
import { upgradeStatus } from '../helpers/upgrade-status';

const services = { id: path.join(FIXTURES, 'auth', 'identity.ts') };
const SECRET = 'a test secret of at least thirty-two bytes';
const hs: Signer = { alg: 'HS256', secret: SECRET };
const audience = 'switchyard-tests';
const issuer = 'https://issuer.test';

function good(extra: Record<string, unknown> = {}, signer: Signer = hs): string {
  return mintJwt({ sub: 'ann', aud: audience, iss: issuer, exp: nowSeconds() + 60, role: 'admin', ...extra }, signer);
}

/** The good token's claims under `{"alg":"none"}`, without a signature. */
function unsigned(): string {
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${good().split('.')[1]}.`;
}

function identityOf(client: TestClient): Promise<{ user: string; claims: Record<string, unknown> }> {
  return client.json((m) => m.type === 'identity');
}

afterAll(closeAll);

describe('jwt with a shared secret (HS256), every token source', () => {
  let port = 0;
  beforeAll(async () => {
    ({ port } = await startCluster({ services, jwt: { secret: SECRET, audience, issuer } }));
  });
  afterEach(closeClients);

  test('Authorization: Bearer, query, cookie and Sec-WebSocket-Protocol are each accepted; claims reach onConnect', async () => {
    const byHeader = await connect(port, '/id', { headers: { authorization: `Bearer ${good()}` } });
    const identity = await identityOf(byHeader);
    expect(identity.user).toBe('ann');
    expect(identity.claims).toMatchObject({ sub: 'ann', role: 'admin', aud: audience, iss: issuer });
    expect((await identityOf(await connect(port, `/id?token=${good({ sub: 'query-user' })}`))).user).toBe('query-user');
    expect((await identityOf(await connect(port, '/id', { headers: { cookie: `theme=dark; token=${good({ sub: 'cookie-user' })}` } }))).user).toBe('cookie-user');
    const byProtocol = await new Promise<TestClient>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/id`, ['chat.v1', `bearer.${good({ sub: 'protocol-user' })}`]);
      const client = new TestClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
    expect((await identityOf(byProtocol)).user).toBe('protocol-user');
    // The token is never echoed back as the chosen protocol.
    expect(byProtocol.socket.protocol).toBe('chat.v1');
  });

  test.each<[string, () => Record<string, string>, string, string]>([
    ['no token', () => ({}), '/id', 'SY_ERR_AUTH_TOKEN_MISSING'],
    ['another Authorization scheme and nothing else', () => ({ authorization: 'Basic YWxhZGRpbjpvcGVu' }), '/id', 'SY_ERR_AUTH_TOKEN_MISSING'],
    ['a malformed token', () => ({ authorization: 'Bearer not.a-jwt' }), '/id', 'SY_ERR_AUTH_TOKEN_MALFORMED'],
    ['garbage in the query', () => ({}), '/id?token=%%%', 'SY_ERR_AUTH_TOKEN_MALFORMED'],
    ['a wrong signature', () => ({ authorization: `Bearer ${good({}, { alg: 'HS256', secret: 'another secret of thirty-two bytes or more' })}` }), '/id', 'SY_ERR_AUTH_TOKEN_SIGNATURE'],
    ['an algorithm not allowed (none)', () => ({ authorization: `Bearer ${unsigned()}` }), '/id', 'SY_ERR_AUTH_TOKEN_SIGNATURE'],
    ['an expired token', () => ({ authorization: `Bearer ${good({ exp: nowSeconds() - 60 })}` }), '/id', 'SY_ERR_AUTH_TOKEN_EXPIRED'],
    ['a wrong audience', () => ({ authorization: `Bearer ${good({ aud: 'someone-else' })}` }), '/id', 'SY_ERR_AUTH_TOKEN_AUDIENCE'],
    ['a wrong issuer', () => ({ authorization: `Bearer ${good({ iss: 'https://evil.test' })}` }), '/id', 'SY_ERR_AUTH_TOKEN_ISSUER'],
    ['a token not valid yet', () => ({ authorization: `Bearer ${good({ nbf: nowSeconds() + 600 })}` }), '/id', 'SY_ERR_AUTH_TOKEN_CLAIMS'],
    ['no user claim', () => ({ authorization: `Bearer ${good({ sub: undefined })}` }), '/id', 'SY_ERR_AUTH_TOKEN_CLAIMS'],
  ])('%s: 401 with its code', async (_name, headers, target, code) => {
    const answer = await upgradeStatus(port, target, headers());
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: code });
  });

  test('HTTP requests to a service: 401 without a token, the identity in onRequest with one', async () => {
    const url = `http://127.0.0.1:${port}/services/id`;
    const refused = await fetch(url, { method: 'POST', body: 'x' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'SY_ERR_AUTH_TOKEN_MISSING' });
    const accepted = await fetch(url, { headers: { authorization: `Bearer ${good({ sub: 'http-user' })}` } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ transport: 'http', user: 'http-user', claims: { role: 'admin' } });
  });

  test('a flood of bad-token upgrades does not keep a good client out', async () => {
    const bad = { authorization: `Bearer ${good({}, { alg: 'HS256', secret: 'another secret of thirty-two bytes or more' })}` };
    let flooding = true;
    let refused = 0;
    // 8 loops of sequential bad upgrades, bounded in time by `flooding` and in count by 250 each.
    const flood = Array.from({ length: 8 }, async () => {
      for (let i = 0; flooding && i < 250; i++) {
        const answer = await upgradeStatus(port, '/id', bad);
        if (answer.status === 401) refused++;
      }
    });
    const started = Date.now();
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const client = await connect(port, '/id', { headers: { authorization: `Bearer ${good({ sub: `good-${i}` })}` } });
      expect((await identityOf(client)).user).toBe(`good-${i}`);
      latencies.push(Date.now() - t0);
    }
    flooding = false;
    await Promise.all(flood);
    expect(refused).toBeGreaterThan(20);
    // Each good client in well under the handshake timeout while the flood ran (a loaded 2-core machine).
    expect(Math.max(...latencies)).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('jwt with keys from files', () => {
  let folder = '';
  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'switchyard-jwt-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  afterEach(closeAll);

  test('RS256 with a PEM public key; an HS256 token signed with that public key (algorithm confusion) is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const file = path.join(folder, 'public.pem');
    writeFileSync(file, pem);
    const { port } = await startCluster({ services, workers: 1, jwt: { publicKey: file, algorithms: ['RS256'] } });
    const client = await connect(port, '/id', { headers: { authorization: `Bearer ${mintJwt({ sub: 'rsa-user' }, { alg: 'RS256', key: privateKey })}` } });
    expect((await identityOf(client)).user).toBe('rsa-user');
    const confused = await upgradeStatus(port, '/id', { authorization: `Bearer ${mintJwt({ sub: 'mallory' }, { alg: 'HS256', secret: pem })}` });
    expect(confused.status).toBe(401);
    expect(JSON.parse(confused.body)).toMatchObject({ error: 'SY_ERR_AUTH_TOKEN_SIGNATURE' });
  });

  test('ES256 from a local JWKS file, the key chosen by kid; an unknown kid is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = path.join(folder, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'ES256', use: 'sig' }] }));
    const { port } = await startCluster({ services, workers: 1, jwt: { jwksFile: file, from: ['query:access_token'] } });
    const token = mintJwt({ sub: 'ec-user' }, { alg: 'ES256', key: privateKey, kid: 'key-1' });
    expect((await identityOf(await connect(port, `/id?access_token=${token}`))).user).toBe('ec-user');
    const unknown = await upgradeStatus(port, `/id?access_token=${mintJwt({ sub: 'x' }, { alg: 'ES256', key: privateKey, kid: 'key-2' })}`);
    expect(unknown.status).toBe(401);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'SY_ERR_AUTH_TOKEN_SIGNATURE' });
  });
});
