import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCli } from '../src/cli-args';
import { loadConfig } from '../src/config-file';
import { resolveOptions } from '../src/options';

const cwd = mkdtempSync(path.join(tmpdir(), 'sy-options-modules-'));
const auth = path.join(cwd, 'auth.mjs');
writeFileSync(auth, 'export default () => ({ user: "x" });');

test('module options take file: URL strings and URL objects, resolved to absolute paths', () => {
  const options = resolveOptions({
    cwd,
    services: { a: pathToFileURL('/srv/a.mjs').href, b: new URL('file:///srv/b.mts'), c: { module: new URL('file:///srv/c.js'), instances: 2 } },
    authenticate: pathToFileURL(auth).href,
    http: pathToFileURL(auth),
  });
  expect(options.services).toEqual({ a: '/srv/a.mjs', b: '/srv/b.mts', c: '/srv/c.js' });
  expect(options.shards.c?.instances).toBe(2);
  expect(options.authenticate).toBe(auth);
  expect(options.http).toBe(auth);
});

test.each([
  ['a service at an https: URL', { services: { a: new URL('https://example.com/a.js') } }, 'options.services.a must be a module path, got'],
  ['a service definition at an https: URL string', { services: { a: { module: 'https://example.com/a.js' } } }, 'options.services.a.module must be a module path, got "https://example.com/a.js"'],
  ['an authenticator at a file: URL to no file', { authenticate: pathToFileURL(path.join(cwd, 'nope.mjs')) }, 'options.authenticate must be an existing module file or false'],
  ['an http app at a data: URL', { http: new URL('data:text/javascript,export default 1') }, 'options.http must be a module path or false'],
])('%s is refused with its dotted name', (_name, options, message) => {
  expect(() => resolveOptions({ cwd, ...options })).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_OPTION', message: expect.stringContaining(message) }));
});

test('a config file named by a file: URL, with file: URLs and relative paths inside, resolves both', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-url-'));
  const config = path.join(folder, 'switchyard.json');
  writeFileSync(config, JSON.stringify({ services: { a: pathToFileURL('/srv/a.mjs').href, b: './b.js', c: { module: 'file:///srv/c.js' } }, http: pathToFileURL(auth).href }));
  const parsed = await parseCli(['start', '--config', pathToFileURL(config).href], '/', {});
  expect(parsed).toMatchObject({ command: 'start', options: { services: { a: '/srv/a.mjs', b: path.join(folder, 'b.js'), c: { module: '/srv/c.js' } }, http: auth } });
  expect(await loadConfig(new URL(pathToFileURL(config).href))).toMatchObject({ services: { a: '/srv/a.mjs' } });
});
