/**
 * `switchyard/client` as a user's code loads it, from the built package
 * (dist/): `require` gets the CommonJS build, `import` the ES module, both
 * with the same API, and `connect` works in Node 20 over `ws` (no global
 * WebSocket), loading it only when asked to connect.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

interface BuildScript {
  buildClient(): Promise<{ minified: number; gzipped: number }>;
}

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
}

beforeAll(async () => {
  await (require('../../scripts/build-client.js') as BuildScript).buildClient();
});

test('require and import resolve through the exports map to the same API', () => {
  const script = "const c = MODULE; console.log(JSON.stringify([typeof c.connect, typeof c.TimeoutError, c.DEFAULT_REQUEST_TIMEOUT, Object.keys(c).sort().join(',')]))";
  const required = node(['-e', script.replace('MODULE', "require('switchyard/client')")]);
  const imported = node(['--input-type=module', '-e', `import * as m from 'switchyard/client'; ${script.replace('MODULE', 'm')}`]);
  expect(JSON.parse(required)).toEqual(['function', 'function', 15000, expect.stringContaining('connect')]);
  expect(imported).toBe(required);
});

test('loading the client does not load ws; connecting loads it only where Node has no global WebSocket (Node 20)', () => {
  const out = node([
    '-e',
    `const { connect } = require('switchyard/client');
     const loaded = () => Object.keys(require.cache).some((file) => file.includes('/node_modules/ws/'));
     const before = loaded();
     const client = connect('ws://127.0.0.1:9/none', { reconnect: false });
     client.on('error', (error) => { console.log(JSON.stringify([typeof WebSocket, before, loaded(), error.code])); });`,
  ]);
  const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
  expect(JSON.parse(out)).toEqual([hasGlobal ? 'function' : 'undefined', false, !hasGlobal, 'SY_CLIENT_GAVE_UP']);
});
