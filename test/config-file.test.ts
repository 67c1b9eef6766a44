import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseCli } from '../src/cli-args';
import { DEFAULT_CONFIG_NAMES, findConfigFile, loadConfig } from '../src/config-file';
import { isSwitchyardError } from '../src/errors';

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(folder, name);
  writeFileSync(file, text);
  return file;
}

test('a CommonJS module exporting the options; service paths resolve against its folder', async () => {
  const file = write('switchyard.config.cjs', "module.exports = { workers: 2, services: { chat: './chat.js' } };");
  expect(await loadConfig(file)).toEqual({ workers: 2, services: { chat: path.join(folder, 'chat.js') } });
});

test('a default export that is a function, or an async one, is called', async () => {
  const sync = write('sync.config.cjs', 'exports.default = () => ({ port: 1 + 1 });');
  const later = write('async.config.cjs', 'exports.default = async () => { await new Promise((r) => setTimeout(r, 5)); return { port: 3 }; };');
  expect(await loadConfig(sync)).toEqual({ port: 2 });
  expect(await loadConfig(later)).toEqual({ port: 3 });
});

test('a TypeScript config with defineConfig', async () => {
  const source = path.join(__dirname, '..', 'src', 'config-file');
  const file = write('switchyard.config.ts', `import { defineConfig } from ${JSON.stringify(source)};\nexport default defineConfig({ workers: 3 as number, logLevel: 'warn' });\n`);
  expect(await loadConfig(file)).toEqual({ workers: 3, logLevel: 'warn' });
});

test('JSON may name its $schema, which is dropped', async () => {
  const file = write('switchyard.json', JSON.stringify({ $schema: './node_modules/switchyard/schema/switchyard.schema.json', port: 9 }));
  expect(await loadConfig(file)).toEqual({ port: 9 });
});

test.each([
  ['not-an-object.config.cjs', 'module.exports = 42;', /must export an object by default/],
  ['throws.config.cjs', "throw new Error('vault unreachable');", /failed to load: vault unreachable/],
  ['rejects.config.cjs', "module.exports = async () => { throw new Error('no secret'); };", /failed to load: no secret/],
  ['config.yaml', 'port: 1', /must be \.json, \.js/],
])('%s is a SY_ERR_CONFIG_FILE naming the file', async (name, text, message) => {
  const file = write(name, text);
  const error = await loadConfig(file).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isSwitchyardError(error, 'SY_ERR_CONFIG_FILE')).toBe(true);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(message);
});

test('without --config, the first default name in the working directory is used', async () => {
  expect(findConfigFile(folder)).toBeUndefined();
  write('switchyard.json', JSON.stringify({ port: 1 }));
  const module = write('switchyard.config.cjs', 'module.exports = { port: 2 };');
  expect(DEFAULT_CONFIG_NAMES.indexOf('switchyard.config.cjs')).toBeLessThan(DEFAULT_CONFIG_NAMES.indexOf('switchyard.json'));
  expect(findConfigFile(folder)).toBe(module);
  expect(await parseCli(['start'], folder, {})).toMatchObject({ options: { port: 2 }, origins: { port: { from: 'config', file: module } } });
  // SWITCHYARD_CONFIG and --config name another.
  expect(await parseCli(['start'], folder, { SWITCHYARD_CONFIG: 'switchyard.json' })).toMatchObject({ options: { port: 1 } });
  expect(await parseCli(['start', '--config', 'switchyard.json'], folder, {})).toMatchObject({ options: { port: 1 } });
});
