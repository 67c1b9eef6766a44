import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSwitchyardError } from '../src/errors';
import { bundledPublicDir, resolveOptions } from '../src/options';

describe('options.staticDir', () => {
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'switchyard-options-'));
    writeFileSync(path.join(folder, 'file.txt'), 'not a folder');
  });

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test('defaults to the bundled public/ folder when a chat service is configured', () => {
    expect(resolveOptions().staticDir).toBe(bundledPublicDir());
    expect(resolveOptions({ services: { chat: './my-chat.js' } }).staticDir).toBe(bundledPublicDir());
  });

  test('the bundled folder is the package root public/', () => {
    expect(bundledPublicDir()).toBe(path.resolve(__dirname, '..', 'public'));
  });

  test('defaults to false without a chat service', () => {
    expect(resolveOptions({ services: { echo: './echo.js' } }).staticDir).toBe(false);
  });

  test('false turns serving off', () => {
    expect(resolveOptions({ staticDir: false }).staticDir).toBe(false);
  });

  test('a relative folder resolves against cwd', () => {
    expect(resolveOptions({ cwd: path.dirname(folder), staticDir: path.basename(folder) }).staticDir).toBe(folder);
  });

  test.each([
    ['a number', 42],
    ['true', true],
    ['an empty string', ''],
    ['a missing folder', 'no/such/folder'],
    ['a file', 'file.txt'],
  ])('%s is refused with SY_ERR_INVALID_OPTION', (_label, value) => {
    const attempt = (): unknown => resolveOptions({ cwd: folder, staticDir: value as unknown as string });
    expect(attempt).toThrow(/^options\.staticDir must be /);
    try {
      attempt();
    } catch (error) {
      expect(isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')).toBe(true);
    }
  });
});
