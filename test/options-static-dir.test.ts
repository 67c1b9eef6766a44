import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSwitchyardError } from '../src/errors';
import { bundledPublicDir, resolveOptions, staticDirWarning } from '../src/options';

describe('options.staticDir', () => {
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'switchyard-options-'));
    writeFileSync(path.join(folder, 'file.txt'), 'not a folder');
    symlinkSync(path.parse(folder).root, path.join(folder, 'root-link'));
    mkdirSync(path.join(folder, 'site'));
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

  const SYSTEM = 'a folder that is not a filesystem root, the home folder or a folder above it (it would serve /etc/passwd or ~/.ssh)';

  test.each([
    ['the filesystem root', () => path.parse(process.cwd()).root],
    ['the root spelt with a trailing ..', () => path.join(path.parse(process.cwd()).root, 'tmp', '..')],
    ['a symbolic link to the root', () => path.join(folder, 'root-link')],
    ['the home folder', () => homedir()],
    ['the folder above the home folder', () => path.dirname(homedir())],
  ])('%s is refused: it would serve /etc/passwd or ~/.ssh', (_label, value) => {
    const attempt = (): unknown => resolveOptions({ cwd: folder, staticDir: value() });
    expect(attempt).toThrow(`options.staticDir must be ${SYSTEM}, got `);
    try {
      attempt();
    } catch (error) {
      expect(isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')).toBe(true);
    }
  });

  test('a folder inside cwd is served without a warning', () => {
    const options = resolveOptions({ cwd: folder, staticDir: 'site' });
    expect(options.staticDir).toBe(path.join(folder, 'site'));
    expect(staticDirWarning(options)).toBeUndefined();
  });

  test('a folder outside cwd is served, with a warning that names it and cwd', () => {
    const cwd = path.join(folder, 'site');
    const options = resolveOptions({ cwd, staticDir: '..' });
    expect(options.staticDir).toBe(folder);
    expect(staticDirWarning(options)).toBe(`options.staticDir (${folder}) is outside cwd (${cwd}): every file in it is served to anyone who can reach the port`);
  });

  test('the bundled page and static serving off give no warning', () => {
    expect(staticDirWarning(resolveOptions({ cwd: folder }))).toBeUndefined();
    expect(staticDirWarning(resolveOptions({ cwd: folder, staticDir: false }))).toBeUndefined();
  });
});
