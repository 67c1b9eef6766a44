import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HELP_TEXT, parseCli } from '../src/cli-args';
import { OPTION_SPECS } from '../src/options-spec';
import { isSwitchyardError } from '../src/errors';

const cwd = '/work/app';

test('start flags become options', () => {
  const parsed = parseCli(['start', '--port', '9000', '--host', '127.0.0.1', '--workers', '4', '--service', 'chat=./chat.js', '--service', 'echo=/abs/echo.js', '--log-level', 'warn', '--balancing', 'kernel'], cwd);
  expect(parsed).toEqual({
    command: 'start',
    options: { cwd, port: 9000, host: '127.0.0.1', workers: 4, services: { chat: './chat.js', echo: '/abs/echo.js' }, logLevel: 'warn', balancing: 'kernel' },
  });
});

test('--tls-cert, --tls-key and --tls-ca become options.tls, over the config file\'s tls; its paths resolve against its folder', () => {
  expect(parseCli(['start', '--tls-cert', 'cert.pem', '--tls-key', '/k/key.pem'], cwd)).toEqual({ command: 'start', options: { cwd, tls: { cert: 'cert.pem', key: '/k/key.pem' } } });
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ tls: { cert: 'old.pem', key: 'key.pem', passphrase: 'p' } }));
  expect(parseCli(['start', '--config', file], cwd)).toEqual({
    command: 'start',
    options: { cwd, tls: { cert: path.join(folder, 'old.pem'), key: path.join(folder, 'key.pem'), passphrase: 'p' } },
  });
  expect(parseCli(['start', '--config', file, '--tls-cert', 'new.pem', '--tls-ca', 'ca.pem'], cwd)).toEqual({
    command: 'start',
    options: { cwd, tls: { cert: 'new.pem', key: path.join(folder, 'key.pem'), passphrase: 'p', ca: 'ca.pem' } },
  });
  expect(HELP_TEXT).toContain('--tls-cert <file>');
});

test('--ops-port and --ops-host become options', () => {
  expect(parseCli(['start', '--ops-port', '9090', '--ops-host', '10.0.0.5'], cwd)).toEqual({ command: 'start', options: { cwd, opsPort: 9090, opsHost: '10.0.0.5' } });
});

test('help and version', () => {
  expect(parseCli(['--help'], cwd)).toEqual({ command: 'help' });
  expect(parseCli(['-h'], cwd)).toEqual({ command: 'help' });
  expect(parseCli(['help'], cwd)).toEqual({ command: 'help' });
  expect(parseCli(['--version'], cwd)).toEqual({ command: 'version' });
  expect(parseCli([], cwd)).toEqual({ command: 'start', options: { cwd } });
});

test('flags override the config file; its service paths resolve against its folder', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ port: 1234, workers: 3, services: { chat: './chat.js' } }));
  const parsed = parseCli(['start', '--config', file, '--port', '5678'], cwd);
  expect(parsed).toEqual({ command: 'start', options: { cwd, port: 5678, workers: 3, services: { chat: path.join(folder, 'chat.js') } } });
});

test('the authenticate and http modules and the jwt key files in a config file resolve against its folder too', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ authenticate: './auth.mjs', http: 'app/index.mjs', jwt: { jwksFile: './keys/jwks.json', audience: 'a' } }));
  expect(parseCli(['start', '--config', file], cwd)).toEqual({
    command: 'start',
    options: { cwd, authenticate: path.join(folder, 'auth.mjs'), http: path.join(folder, 'app', 'index.mjs'), jwt: { jwksFile: path.join(folder, 'keys', 'jwks.json'), audience: 'a' } },
  });
});

test.each([
  [['start', '--port', 'abc'], '--port must be a whole number, got "abc"'],
  [['start', '--service', 'chat'], '--service takes name=path, got "chat"'],
  [['start', '--service', 'a=1', '--service', 'a=2'], '--service a is given twice'],
  [['stop'], 'unknown command "stop"; try switchyard --help'],
  [['start', '--bogus'], "Unknown option '--bogus'"],
  [['start', '--tls-cert', 'cert.pem'], '--tls-cert and --tls-key go together'],
  [['start', '--config', '/nonexistent/switchyard.json'], 'cannot read config file'],
])('%j is refused with a one-line reason', (argv, message) => {
  let caught: unknown;
  try {
    parseCli(argv, cwd);
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught)).toBe(true);
  expect((caught as Error).message).toContain(message);
  expect((caught as Error).message).not.toContain('\n');
});

test('a config file that is not JSON is a SY_ERR_CONFIG_FILE', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'bad.json');
  writeFileSync(file, '{ port: 1');
  expect(() => parseCli(['--config', file], cwd)).toThrow(expect.objectContaining({ code: 'SY_ERR_CONFIG_FILE' }));
});

test('the help shows the defaults and choices of the option table', () => {
  expect(HELP_TEXT).toContain(`(default ${OPTION_SPECS.port.default})`);
  expect(HELP_TEXT).toContain(`fatal, error, warn, info, debug, trace or silent (default ${OPTION_SPECS.logLevel.default})`);
  for (const mode of OPTION_SPECS.balancing.values) expect(HELP_TEXT).toContain(mode);
});
