/**
 * The NATS client is an optional cost: nothing loads `@nats-io/transport-node`
 * until `connectNats()` is called, so a server without NATS configured never
 * loads it (checked in a fresh Node process, whose module cache is its own).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(file) : entry.name.endsWith('.ts') ? [file] : [];
  });
}

test('one module loads the NATS client, with require() inside a function: no import of it anywhere else', () => {
  const loaders = sources(path.join(ROOT, 'src')).filter((file) => /^(?!import type)[^\n]*'@nats-io\//m.test(readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '')));
  expect(loaders.map((file) => path.relative(ROOT, file))).toEqual(['src/nats/nats-connection.ts']);
  const text = readFileSync(path.join(ROOT, 'src/nats/nats-connection.ts'), 'utf8');
  expect(text).not.toMatch(/^import (?!type )[^;]*'@nats-io\//m);
  expect(text).toMatch(/^ {4}return require\('@nats-io\/transport-node'\)/m);
});

test('the NATS modules load without the NATS client; connectNats() loads it', () => {
  const script = `
    const loaded = () => Object.keys(require.cache).some((file) => file.includes('@nats-io'));
    require('./src/nats/reliable-channel.ts');
    require('./src/nats/channel-router.ts');
    require('./src/nats/node-registry.ts');
    const { connectNats } = require('./src/nats/nats-connection.ts');
    const before = loaded();
    // No server listens on port 1: the connect fails, but only after the client was loaded.
    connectNats({ servers: ['nats://127.0.0.1:1'], timeout: 1000 }).then(
      () => console.log(JSON.stringify({ before, after: loaded(), code: 'connected?' })),
      (error) => console.log(JSON.stringify({ before, after: loaded(), code: error.code })),
    );
  `;
  const out = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  expect(JSON.parse(out.trim().split('\n').pop() ?? '{}')).toEqual({ before: false, after: true, code: 'SY_ERR_NATS_UNAVAILABLE' });
});
