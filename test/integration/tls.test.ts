/**
 * TLS on the workers' port with real processes and real clients: wss:// and
 * https:// verified against a CA made for the test, a plain ws:// / http://
 * attempt refused with a plain 400, certificates renewed in place and at a
 * rolling reload, and a broken certificate that fails the start or the
 * reload while the old workers keep serving.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import WebSocket from 'ws';
import { isSwitchyardError } from '../../src/errors';
import { createServer } from '../../src/master/server';
import { PLAIN_ON_TLS_MESSAGE } from '../../src/worker/front-server';
import { makeCa, makeCert, type TestCa, type TestCert } from '../helpers/certs';
import { closeAll, startCluster, TestClient } from '../helpers/cluster';

let ca: TestCa;
let first: TestCert;
/** The files the server is given: a copy of a made pair, replaced in place to renew it. */
let certFile: string;
let keyFile: string;

beforeAll(() => {
  ca = makeCa();
  first = makeCert(ca, 'first');
});
beforeEach(() => {
  certFile = path.join(ca.dir, 'served.pem');
  keyFile = path.join(ca.dir, 'served.key');
  serve(first);
});
afterEach(closeAll);
afterAll(() => ca.remove());

function serve(cert: TestCert): void {
  copyFileSync(cert.certFile, certFile);
  copyFileSync(cert.keyFile, keyFile);
}

function startTls(options: Parameters<typeof startCluster>[0] = {}): ReturnType<typeof startCluster> {
  return startCluster({ services: { echo: require.resolve('../../src/services/examples/echo') }, tls: { cert: certFile, key: keyFile }, ...options });
}

/** A wss:// client that trusts only the test CA (the default CAs do not know it). */
function connectWss(port: number, route: string): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`wss://localhost:${port}${route}`, { ca: ca.caPem });
    const client = new TestClient(socket);
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

/** The fingerprint of the certificate a new TLS connection to `port` is served, verified against the test CA. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca.caPem }, () => {
      const { fingerprint256 } = socket.getPeerCertificate();
      socket.end();
      resolve(fingerprint256);
    });
    socket.once('error', reject);
  });
}

function request(module: typeof http | typeof https, port: number, options: https.RequestOptions & { body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = module.request({ host: '127.0.0.1', port, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end(options.body);
  });
}

async function echoes(client: TestClient, text: string): Promise<void> {
  const before = client.messages.length;
  client.socket.send(text);
  expect((await client.received(before + 1))[before]).toBe(text);
}

test('wss:// echo and an HTTPS request to /services/echo, verified against the test CA; health over HTTPS too', async () => {
  const { port } = await startTls();
  const client = await connectWss(port, '/echo');
  await echoes(client, 'over tls');
  const reply = await request(https, port, { method: 'POST', path: '/services/echo', servername: 'localhost', ca: ca.caPem, body: 'hello' });
  expect(reply).toEqual({ status: 200, body: 'hello' });
  expect((await request(https, port, { path: '/healthz', servername: 'localhost', ca: ca.caPem })).status).toBe(200);
  // A client that trusts only the default CAs refuses the certificate: it is the test CA's, not a public one.
  await expect(new Promise((resolve, reject) => {
    const socket = new WebSocket(`wss://localhost:${port}/echo`);
    socket.once('open', resolve);
    socket.once('error', reject);
  })).rejects.toThrow(/certificate/);
});

test('a plain ws:// upgrade and a plain http:// request on the TLS port get HTTP 400 naming https:// and wss://', async () => {
  const { port } = await startTls();
  const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    socket.once('open', () => reject(new Error('a plain upgrade was accepted on the TLS port')));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
  expect(refused.status).toBe(400);
  expect(JSON.parse(refused.body)).toEqual({ error: 'Bad Request', message: PLAIN_ON_TLS_MESSAGE });
  const plain = await request(http, port, { path: '/healthz' });
  expect(plain.status).toBe(400);
  expect(plain.body).toContain('use https:// or wss://');
  // The workers serve TLS as before.
  await echoes(await connectWss(port, '/echo'), 'still fine');
});

test('reloadTls() renews the certificate in place: new connections get the new one, connected clients stay up', async () => {
  const { server, port } = await startTls();
  const old = await connectWss(port, '/echo');
  expect(await servedFingerprint(port)).toBe(first.fingerprint256);
  const renewed = makeCert(ca, 'renewed');
  serve(renewed);
  const pids = server.stats().workers.map((worker) => worker.pid);
  await server.reloadTls();
  await eventuallyServed(port, renewed.fingerprint256);
  await echoes(old, 'still connected');
  expect(old.closeCode).toBeUndefined();
  expect(server.stats().workers.map((worker) => worker.pid)).toEqual(pids);
  await echoes(await connectWss(port, '/echo'), 'new client');
});

/**
 * Polls new connections until four in a row are served `fingerprint`: each
 * worker switches when it reads the master's message, and round-robin hands
 * consecutive connections to alternate workers, so four in a row cover both.
 */
async function eventuallyServed(port: number, fingerprint: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let inARow = 0;
  while (inARow < 4) {
    inARow = (await servedFingerprint(port)) === fingerprint ? inARow + 1 : 0;
    if (Date.now() > deadline) throw new Error(`not served ${fingerprint} by every worker within 5 s`);
  }
}

test('a rolling reload reads the renewed certificate: every worker serves it afterwards', async () => {
  const { server, port } = await startTls();
  const renewed = makeCert(ca, 'reloaded');
  serve(renewed);
  await server.reload();
  for (let i = 0; i < 4; i++) expect(await servedFingerprint(port)).toBe(renewed.fingerprint256);
  await echoes(await connectWss(port, '/echo'), 'after reload');
});

test('a reload with a broken certificate rejects naming the file; the old workers keep serving the old certificate', async () => {
  const { server, port } = await startTls();
  const client = await connectWss(port, '/echo');
  const pids = server.stats().workers.map((worker) => worker.pid);
  writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const failure = await server.reload().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isSwitchyardError(failure, 'SY_ERR_RELOAD_FAILED')).toBe(true);
  expect((failure as Error).message).toContain(certFile);
  expect(isSwitchyardError((failure as Error).cause, 'SY_ERR_TLS_CERT')).toBe(true);
  await expect(server.reloadTls()).rejects.toMatchObject({ code: 'SY_ERR_TLS_CERT', message: expect.stringContaining(certFile) });
  await echoes(client, 'unharmed');
  expect(server.stats().workers.map((worker) => worker.pid)).toEqual(pids);
  for (let i = 0; i < 4; i++) expect(await servedFingerprint(port)).toBe(first.fingerprint256);
});

test('a missing key file fails the start with SY_ERR_TLS_CERT naming it, before any process starts', async () => {
  const missing = path.join(ca.dir, 'missing.key');
  const server = createServer({ port: 0, host: '127.0.0.1', workers: 1, logLevel: 'silent', tls: { cert: certFile, key: missing } });
  await expect(server.listen()).rejects.toMatchObject({ code: 'SY_ERR_TLS_CERT', message: expect.stringContaining(missing) });
  expect(server.state).toBe('closed');
  expect(server.stats().workers).toEqual([]);
});
