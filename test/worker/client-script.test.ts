/**
 * ClientScript on a plain node:http server (no cluster): the headers a
 * module script needs, 304 by ETag, gzip when asked, 405, and a clear 404
 * (logged once) when the file was never built.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ClientScript, CLIENT_SCRIPT_PATH } from '../../src/worker/client-script';
import { recordingLogger } from '../helpers/recording-logger';

const SCRIPT = 'export function connect(){return 1}\n'.repeat(50);

let folder: string;
let server: http.Server;
let port: number;
let script: ClientScript;
const logger = recordingLogger();

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function ask(method: string, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

async function serve(file: string): Promise<void> {
  script = new ClientScript(logger.log, file);
  server = http.createServer((request, response) => {
    if (ClientScript.matches(request.url)) script.serve(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}

beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'client-script-'));
  logger.lines.length = 0;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(folder, { recursive: true, force: true });
});

test('serves the file as JavaScript any origin may import, revalidated by ETag', async () => {
  const file = path.join(folder, 'switchyard-client.js');
  writeFileSync(file, SCRIPT);
  await serve(file);
  const first = await ask('GET', CLIENT_SCRIPT_PATH);
  expect(first.status).toBe(200);
  expect(first.body.toString()).toBe(SCRIPT);
  expect(first.headers).toMatchObject({
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
    'content-length': String(SCRIPT.length),
  });
  const etag = first.headers.etag as string;
  expect(etag).toMatch(/^"[\w-]{22}"$/);
  const again = await ask('GET', `${CLIENT_SCRIPT_PATH}?v=2`, { 'If-None-Match': etag });
  expect(again.status).toBe(304);
  expect(again.body.length).toBe(0);
  const head = await ask('HEAD', CLIENT_SCRIPT_PATH);
  expect(head.status).toBe(200);
  expect(head.body.length).toBe(0);
});

test('gzip when the browser accepts it', async () => {
  const file = path.join(folder, 'switchyard-client.js');
  writeFileSync(file, SCRIPT);
  await serve(file);
  const answer = await ask('GET', CLIENT_SCRIPT_PATH, { 'Accept-Encoding': 'gzip, deflate, br' });
  expect(answer.headers['content-encoding']).toBe('gzip');
  expect(answer.body.length).toBeLessThan(SCRIPT.length);
  expect(gunzipSync(answer.body).toString()).toBe(SCRIPT);
  expect((await ask('GET', CLIENT_SCRIPT_PATH, { 'Accept-Encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
});

test('other methods get 405; a missing build 404 with one warning', async () => {
  await serve(path.join(folder, 'missing.js'));
  expect((await ask('POST', CLIENT_SCRIPT_PATH)).status).toBe(405);
  expect((await ask('GET', CLIENT_SCRIPT_PATH)).status).toBe(404);
  expect((await ask('GET', CLIENT_SCRIPT_PATH)).status).toBe(404);
  expect(logger.warnings('the client script is missing; run npm run build')).toHaveLength(1);
});

test('matches only its own path', () => {
  expect(ClientScript.matches('/switchyard-client.js')).toBe(true);
  expect(ClientScript.matches('/switchyard-client.js?v=1')).toBe(true);
  expect(ClientScript.matches('/switchyard-client.jsx')).toBe(false);
  expect(ClientScript.matches('/x/switchyard-client.js')).toBe(false);
  expect(ClientScript.matches(undefined)).toBe(false);
});
