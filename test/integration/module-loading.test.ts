/**
 * User modules as users write them: ES modules with top-level await (`.mjs`,
 * `.js` under `"type": "module"`, `.mts`), CommonJS, given as paths, `file:`
 * URL strings or `URL` objects; the TypeScript loader forced through
 * `SWITCHYARD_TS_LOADER` (ts-node, none, Node's type stripping); a config
 * module read again after an edit.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer } from '../../src/master/server';
import { nodeTypeStripping, TS_LOADER_ENV } from '../../src/typescript-support';
import { closeAll, connect, startCluster, FIXTURES } from '../helpers/cluster';

const MODULES = path.join(FIXTURES, 'modules');
const PROBE = path.join(MODULES, 'loader-probe.ts');

let port = 0;

beforeAll(async () => {
  ({ port } = await startCluster({
    workers: 1,
    services: {
      tla: new URL(pathToFileURL(path.join(MODULES, 'tla-echo.mjs')).href),
      mts: pathToFileURL(path.join(MODULES, 'echo.mts')).href,
      esm: { module: path.join(MODULES, 'esm-package', 'echo.js') },
      tsEsm: path.join(MODULES, 'esm-package', 'typed-echo.ts'),
      cjs: path.join(MODULES, 'cjs-echo.cjs'),
      probe: PROBE,
    },
    http: new URL(pathToFileURL(path.join(MODULES, 'tla-app.mjs')).href),
  }));
});

afterAll(closeAll);

async function answer(service: string, sent = 'hi'): Promise<string> {
  const client = await connect(port, `/${service}`);
  client.socket.send(sent);
  const [reply] = await client.received(1);
  client.socket.close();
  return String(reply);
}

test.each([
  ['an .mjs service with top-level await, given as a URL object', 'tla', 'tla:hi'],
  ['an .mts service with top-level await, given as a file: URL string', 'mts', 'mts:hi'],
  ['a .js service under "type": "module", in the object form', 'esm', 'esm:hi'],
  ['a CommonJS .cjs service', 'cjs', 'cjs:hi'],
  ['a .ts service with top-level await under "type": "module" (which require() refuses)', 'tsEsm', 'ts-esm:hi'],
  ['a .ts service, through tsx (not ts-node) by default', 'probe', 'other'],
])('%s loads and answers', async (_name, service, expected) => {
  expect(await answer(service)).toBe(expected);
});

test('an http app with top-level await given as a URL object serves requests', async () => {
  const response = await fetch(`http://127.0.0.1:${port}/anything`);
  expect(await response.text()).toBe('app:/anything');
});

/** Starts one service alone (one worker) with `SWITCHYARD_TS_LOADER` set to `loader` for its processes. */
async function withLoader<T>(loader: string | undefined, run: () => Promise<T>): Promise<T> {
  const before = process.env[TS_LOADER_ENV];
  if (loader === undefined) delete process.env.SWITCHYARD_TS_LOADER;
  else process.env[TS_LOADER_ENV] = loader;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.SWITCHYARD_TS_LOADER;
    else process.env[TS_LOADER_ENV] = before;
  }
}

function startAlone(module: string | URL): Promise<number> {
  const server = createServer({ port: 0, host: '127.0.0.1', workers: 1, logLevel: 'silent', services: { alone: module } });
  return server.listen().finally(() => server.close());
}

test.each([
  ['a module without a default export', path.join(MODULES, 'missing-default.mjs'), 'must default-export a class that extends Service'],
  ['a file: URL to no file', pathToFileURL(path.join(MODULES, 'nope.mjs')).href, 'cannot load'],
])('%s fails the start with SY_ERR_SERVICE_START_FAILED naming the file', async (_name, module, message) => {
  const error = await startAlone(module).then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'SY_ERR_SERVICE_START_FAILED', message: expect.stringContaining(message) });
  expect((error as Error).message).toContain(path.join(MODULES, path.basename(module)));
});

test('SWITCHYARD_TS_LOADER=ts-node loads a .ts service through ts-node, and refuses an .mts one naming the loaders that can', async () => {
  const answered = await withLoader('ts-node', async () => {
    const server = createServer({ port: 0, host: '127.0.0.1', workers: 1, logLevel: 'silent', services: { probe: PROBE } });
    try {
      const listening = await server.listen();
      const client = await connect(listening, '/probe');
      client.socket.send('which');
      return String((await client.received(1))[0]);
    } finally {
      await server.close();
    }
  });
  expect(answered).toBe('ts-node');
  const error = await withLoader('ts-node', () => startAlone(path.join(MODULES, 'echo.mts'))).then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'SY_ERR_SERVICE_START_FAILED', cause: { code: 'SY_ERR_TS_NODE_MISSING', message: expect.stringContaining('needs tsx or Node\'s type stripping') } });
});

test('SWITCHYARD_TS_LOADER=none: a .ts service fails with SY_ERR_TS_NODE_MISSING naming what to install', async () => {
  const error = await withLoader('none', () => startAlone(PROBE)).then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({
    code: 'SY_ERR_SERVICE_START_FAILED',
    cause: { code: 'SY_ERR_TS_NODE_MISSING', message: expect.stringContaining(`${TS_LOADER_ENV}=none`) },
  });
  expect((error as { cause: Error }).cause.message).toContain('npm install --save-dev tsx');
});

// On Node 20 there is no type stripping: forcing it is the missing-loader error; where Node has it, the service loads.
const stripping = nodeTypeStripping();
(stripping === undefined ? test : test.skip)('SWITCHYARD_TS_LOADER=strip on a Node without type stripping fails naming the Node version needed', async () => {
  const error = await withLoader('strip', () => startAlone(PROBE)).then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'SY_ERR_SERVICE_START_FAILED', cause: { code: 'SY_ERR_TS_NODE_MISSING', message: expect.stringContaining('Node 22.6+') } });
});

test('a config module read again (at SIGHUP) after an edit gives the edited options, ES module or CommonJS, JavaScript or TypeScript', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-reread-'));
  const files = [
    ['switchyard.config.mjs', 'export default { workers: 1 };\n'],
    ['switchyard.config.cjs', 'module.exports = { workers: 1 };\n'],
    ['switchyard.config.mts', 'const workers: number = await Promise.resolve(1);\nexport default { workers };\n'],
    ['switchyard.config.cts', 'module.exports = { workers: 1 as number };\n'],
  ].map(([name, text]) => {
    const file = path.join(folder, name as string);
    writeFileSync(file, text as string);
    return file;
  });
  try {
    const output = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(MODULES, 'read-config-twice.ts'), ...files], { encoding: 'utf8', timeout: 20000 });
    expect(JSON.parse(output)).toEqual(files.map(() => [1, 2]));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
