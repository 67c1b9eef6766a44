import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../src/logger';
import { CONTENT_SECURITY_POLICY, StaticFiles, contentTypeFor, resolveRequestPath } from '../../src/worker/static-files';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Sends `target` byte for byte (http.request does not normalize paths). */
function request(port: number, target: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('resolveRequestPath', () => {
  const root = path.resolve('/srv/public');

  test.each(['/', '/index.html', '/sub/', '/chat.js', '/a/b/c.css', '/%E2%9C%93.txt'])('%s stays inside', (target) => {
    const check = resolveRequestPath(root, target);
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.file.startsWith(root + path.sep)).toBe(true);
  });

  test('/ and folders serve index.html', () => {
    expect(resolveRequestPath(root, '/')).toEqual({ ok: true, file: path.join(root, 'index.html') });
    expect(resolveRequestPath(root, '/sub/')).toEqual({ ok: true, file: path.join(root, 'sub', 'index.html') });
  });

  test.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E/%2E%2E/etc/passwd',
    '/..%2fpackage.json',
    '/..%5cpackage.json',
    '/sub/../../package.json',
    '/%00',
    '/index.html%00.js',
    '//etc/passwd',
    '/%2fetc/passwd',
    '/.env',
    '/.git/config',
    '/sub/./index.html',
    '/a\\b',
  ])('%s is refused with 404', (target) => {
    expect(resolveRequestPath(root, target)).toEqual({ ok: false, status: 404 });
  });

  test.each(['/%E0%A4%A', '/%', 'relative/path', ''])('%j is a bad request', (target) => {
    expect(resolveRequestPath(root, target)).toEqual({ ok: false, status: 400 });
  });
});

test('content types follow the extension, unknown ones are octet-stream', () => {
  expect(contentTypeFor('/x/index.html')).toBe('text/html; charset=utf-8');
  expect(contentTypeFor('/x/chat.js')).toBe('text/javascript; charset=utf-8');
  expect(contentTypeFor('/x/chat.CSS')).toBe('text/css; charset=utf-8');
  expect(contentTypeFor('/x/logo.svg')).toBe('image/svg+xml');
  expect(contentTypeFor('/x/data.bin')).toBe('application/octet-stream');
  expect(contentTypeFor('/x/Makefile')).toBe('application/octet-stream');
});

describe('StaticFiles over HTTP', () => {
  let base: string;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    // realpath: on some systems the temp folder itself is behind a symlink.
    base = realpathSync(mkdtempSync(path.join(tmpdir(), 'switchyard-static-')));
    const root = path.join(base, 'public');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>home</title>');
    writeFileSync(path.join(root, 'chat.js'), 'console.log(1);\n');
    writeFileSync(path.join(root, 'chat.css'), 'body{}');
    writeFileSync(path.join(root, 'data.bin'), Buffer.from([0, 1, 2]));
    writeFileSync(path.join(root, 'empty.txt'), '');
    writeFileSync(path.join(root, 'sub', 'page.html'), 'sub page');
    writeFileSync(path.join(base, 'secret.txt'), 'outside the folder');
    symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.txt'));
    symlinkSync(base, path.join(root, 'dir-out'));
    symlinkSync(path.join(root, 'chat.css'), path.join(root, 'link-in.css'));
    const files = new StaticFiles(root, createLogger('silent', 'worker'));
    server = http.createServer((req, res) => files.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(base, { recursive: true, force: true });
  });

  test('GET / serves index.html with security and cache headers', async () => {
    const reply = await request(port, '/');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('<!doctype html><title>home</title>');
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self' ws: wss:");
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(reply.headers.etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
  });

  test.each([
    ['/chat.js', 'text/javascript; charset=utf-8'],
    ['/chat.css', 'text/css; charset=utf-8'],
    ['/data.bin', 'application/octet-stream'],
    ['/sub/page.html', 'text/html; charset=utf-8'],
    ['/link-in.css', 'text/css; charset=utf-8'],
    ['/chat.js?v=2', 'text/javascript; charset=utf-8'],
  ])('GET %s is %s', async (target, type) => {
    const reply = await request(port, target);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(type);
  });

  // What docs/browser-demo.md says the demo facility does not do (it is no general static server); each changes only with those docs.
  test('a Range request gets the whole file with 200, gzip is not applied, /sub without a slash is no index', async () => {
    const ranged = await request(port, '/chat.js', 'GET', { Range: 'bytes=0-3', 'Accept-Encoding': 'gzip, br' });
    expect([ranged.status, ranged.body, ranged.headers['accept-ranges'], ranged.headers['content-encoding']]).toEqual([200, 'console.log(1);\n', undefined, undefined]);
    expect((await request(port, '/sub')).status).toBe(404);
    expect((await request(port, '/sub/')).status).toBe(404);
  });

  test('an empty file is served empty', async () => {
    const reply = await request(port, '/empty.txt');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.body).toBe('');
  });

  test('HEAD has the headers of GET and no body', async () => {
    const reply = await request(port, '/chat.js', 'HEAD');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength('console.log(1);\n')));
    expect(reply.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(reply.body).toBe('');
  });

  test.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])('%s on a file is 405 with Allow', async (method) => {
    const reply = await request(port, '/chat.js', method);
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD');
  });

  test('POST on a missing path is 404, not 405', async () => {
    expect((await request(port, '/nothing-here', 'POST')).status).toBe(404);
  });

  test('a matching If-None-Match gets 304 without a body', async () => {
    const first = await request(port, '/chat.css');
    const again = await request(port, '/chat.css', 'GET', { 'If-None-Match': first.headers.etag as string });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  test.each([
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/%00',
    '/chat.js%00.html',
    '/link-out.txt',
    '/dir-out/secret.txt',
    '/sub',
    '/missing.js',
    '//etc/passwd',
  ])('%s is 404 and never shows outside content', async (target) => {
    const reply = await request(port, target);
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain('outside the folder');
  });

  test('malformed percent-encoding is 400', async () => {
    expect((await request(port, '/%E0%A4%A')).status).toBe(400);
  });
});
