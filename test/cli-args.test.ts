import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GENERAL_HELP, START_HELP, parseCli } from '../src/cli-args';
import { OPTION_SPECS } from '../src/options-spec';
import { isSwitchyardError } from '../src/errors';
import { resolveOptions } from '../src/options';

const cwd = '/work/app';

test('start flags become options', async () => {
  const parsed = await parseCli(['start', '--port', '9000', '--host', '127.0.0.1', '--workers', '4', '--service', 'chat=./chat.js', '--service', 'echo=/abs/echo.js', '--log-level', 'warn', '--balancing', 'kernel'], cwd, {});
  expect(parsed).toMatchObject({
    command: 'start',
    options: { cwd, port: 9000, host: '127.0.0.1', workers: 4, services: { chat: './chat.js', echo: '/abs/echo.js' }, logLevel: 'warn', balancing: 'kernel' },
    origins: { port: { from: 'flag', flag: '--port' }, services: { from: 'flag', flag: '--service' } },
    warnings: [],
  });
});

test('--tls-cert, --tls-key and --tls-ca become options.tls, over the config file\'s tls; its paths resolve against its folder', async () => {
  expect(await parseCli(['start', '--tls-cert', 'cert.pem', '--tls-key', '/k/key.pem'], cwd, {})).toMatchObject({ command: 'start', options: { cwd, tls: { cert: 'cert.pem', key: '/k/key.pem' } } });
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ tls: { cert: 'old.pem', key: 'key.pem', passphrase: 'p' } }));
  expect(await parseCli(['start', '--config', file], cwd, {})).toMatchObject({
    command: 'start',
    options: { cwd, tls: { cert: path.join(folder, 'old.pem'), key: path.join(folder, 'key.pem'), passphrase: 'p' } },
  });
  expect(await parseCli(['start', '--config', file, '--tls-cert', 'new.pem', '--tls-ca', 'ca.pem'], cwd, {})).toMatchObject({
    command: 'start',
    options: { cwd, tls: { cert: 'new.pem', key: path.join(folder, 'key.pem'), passphrase: 'p', ca: 'ca.pem' } },
  });
  expect(START_HELP).toContain('--tls-cert <file>');
});

test('--ops-port and --ops-host become options', async () => {
  expect(await parseCli(['start', '--ops-port', '9090', '--ops-host', '10.0.0.5'], cwd, {})).toMatchObject({ command: 'start', options: { cwd, opsPort: 9090, opsHost: '10.0.0.5' } });
});

test('help and version', async () => {
  expect(await parseCli(['--help'], cwd)).toEqual({ command: 'help', topic: 'general' });
  expect(await parseCli(['-h'], cwd)).toEqual({ command: 'help', topic: 'general' });
  expect(await parseCli(['help'], cwd)).toEqual({ command: 'help', topic: 'general' });
  expect(await parseCli(['start', '--help'], cwd)).toEqual({ command: 'help', topic: 'start' });
  expect(await parseCli(['help', 'start'], cwd)).toEqual({ command: 'help', topic: 'start' });
  expect(await parseCli(['help', 'bench'], cwd)).toEqual({ command: 'bench', argv: ['--help'] });
  expect(await parseCli(['--version'], cwd)).toEqual({ command: 'version' });
  expect(await parseCli([], cwd, {})).toEqual({ command: 'start', options: { cwd }, origins: {}, warnings: [] });
});

test('flags override the config file; its service paths resolve against its folder', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ port: 1234, workers: 3, services: { chat: './chat.js' } }));
  const parsed = await parseCli(['start', '--config', file, '--port', '5678'], cwd, {});
  expect(parsed).toMatchObject({ command: 'start', options: { cwd, port: 5678, workers: 3, services: { chat: path.join(folder, 'chat.js') } } });
});

test('the authenticate and http modules and the jwt key files in a config file resolve against its folder too', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ authenticate: './auth.mjs', http: 'app/index.mjs', jwt: { jwksFile: './keys/jwks.json', audience: 'a' } }));
  expect(await parseCli(['start', '--config', file], cwd, {})).toMatchObject({
    command: 'start',
    options: { cwd, authenticate: path.join(folder, 'auth.mjs'), http: path.join(folder, 'app', 'index.mjs'), jwt: { jwksFile: path.join(folder, 'keys', 'jwks.json'), audience: 'a' } },
  });
});

test.each([
  [['start', '--service', 'chat'], '--service takes name=path, got "chat"'],
  [['start', '--service', 'a=1', '--service', 'a=2'], '--service a is given twice'],
  [['stop'], 'unknown command "stop"; try switchyard --help'],
  [['strat'], 'unknown command "strat" (did you mean start?); try switchyard --help'],
  // Help for a command that does not exist is no help of start's.
  [['stop', '--help'], 'unknown command "stop"; try switchyard --help'],
  [['strat', '--help'], 'unknown command "strat" (did you mean start?)'],
  [['help', 'strat'], 'unknown command "strat" (did you mean start?)'],
  [['start', '--bogus'], 'unknown flag --bogus; switchyard start --help lists the flags'],
  [['start', '--wokers', '2'], 'unknown flag --wokers (did you mean --workers?); switchyard start --help lists the flags'],
  [['start', '--log-levle', 'warn'], 'unknown flag --log-levle (did you mean --log-level?)'],
  [['start', '--tls-cert', 'cert.pem'], '--tls-cert and --tls-key go together'],
  [['start', '--config', '/nonexistent/switchyard.json'], 'cannot read config file'],
])('%j is refused with a one-line reason', async (argv, message) => {
  let caught: unknown;
  try {
    await parseCli(argv, cwd, {});
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught)).toBe(true);
  expect((caught as Error).message).toContain(message);
  expect((caught as Error).message).not.toContain('\n');
});

test('a config file that is not JSON is a SY_ERR_CONFIG_FILE', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'bad.json');
  writeFileSync(file, '{ port: 1');
  await expect(parseCli(['--config', file], cwd)).rejects.toThrow(expect.objectContaining({ code: 'SY_ERR_CONFIG_FILE' }));
});

test('the help shows the defaults and choices of the option table', () => {
  expect(START_HELP).toContain(`(default ${OPTION_SPECS.port.default})`);
  expect(START_HELP).toContain(`fatal, error, warn, info, debug, trace or silent (default ${OPTION_SPECS.logLevel.default})`);
  for (const mode of OPTION_SPECS.balancing.values) expect(START_HELP).toContain(mode);
});

/** Parses and resolves as the CLI does, returning the error's message. */
async function startError(argv: readonly string[], env: NodeJS.ProcessEnv, configFile?: string): Promise<string> {
  const parsed = await parseCli(argv, cwd, env);
  if (parsed.command !== 'start') throw new Error(`not start: ${parsed.command}`);
  try {
    resolveOptions(parsed.options, { origins: parsed.origins });
  } catch (error) {
    expect(isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')).toBe(true);
    return (error as Error).message.replace(configFile ?? '\0', '<file>');
  }
  throw new Error('resolved without an error');
}

test('flags over environment over config file over defaults, per option', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ port: 1111, workers: 3, logLevel: 'debug', maxPayload: 2048 }));
  const env = { SWITCHYARD_CONFIG: file, PORT: '2222', SWITCHYARD_WORKERS: '5', SWITCHYARD_LOG_LEVEL: 'error' };
  const parsed = await parseCli(['start', '--log-level', 'warn'], cwd, env);
  expect(parsed).toMatchObject({
    options: { cwd, port: 2222, workers: 5, logLevel: 'warn', maxPayload: 2048 },
    origins: {
      port: { from: 'environment', variable: 'PORT' },
      workers: { from: 'environment', variable: 'SWITCHYARD_WORKERS' },
      logLevel: { from: 'flag', flag: '--log-level' },
      maxPayload: { from: 'config', file },
    },
  });
  expect(await parseCli(['start'], cwd, { PORT: '2222', SWITCHYARD_PORT: '3333' })).toMatchObject({ options: { port: 3333 } });
});

test('a bad value is named by where it came from', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ workers: 0, allowedOrigins: ['https://ok.example', 'nope'] }));
  expect(await startError(['start'], { SWITCHYARD_WORKERS: 'many' })).toBe('SWITCHYARD_WORKERS (environment) must be an integer from 1 to 256, got "many"');
  expect(await startError(['start'], { PORT: '70000' })).toBe('PORT (environment) must be an integer from 0 to 65535, got 70000');
  expect(await startError(['start', '--workers', 'many'], {})).toBe('--workers (flag) must be an integer from 1 to 256, got "many"');
  expect(await startError(['start', '--service', '_x=./a.js'], {})).toMatch(/^--service _x \(flag\) must be named with letters/);
  expect(await startError(['start', '--config', file], {}, file)).toBe('workers (config file <file>) must be an integer from 1 to 256, got 0');
  expect(await startError(['start', '--config', file, '--workers', '2'], {}, file)).toMatch(/^allowedOrigins\.1 \(config file <file>\) must be an origin/);
  expect(await startError(['start'], { SWITCHYARD_ALLOWED_ORIGINS: 'https://ok.example,nope' })).toMatch(/^SWITCHYARD_ALLOWED_ORIGINS\[1\] \(environment\) must be an origin/);
});

test('a field of tls or cluster set by its own flag is named by that flag; a field from the config file below by the file', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  expect(await startError(['start', '--tls-cert', 'cert.pem', '--tls-key', ''], {})).toBe('--tls-key (flag) must be a PEM file path, got ""');
  expect(await startError(['start', '--tls-cert', '', '--tls-key', 'key.pem'], {})).toBe('--tls-cert (flag) must be a PEM file path, got ""');
  writeFileSync(file, JSON.stringify({ tls: { cert: 'cert.pem', key: 'key.pem' } }));
  expect(await startError(['start', '--config', file, '--tls-ca', ''], {}, file)).toBe('--tls-ca (flag) must be a PEM file path, got ""');
  writeFileSync(file, JSON.stringify({ tls: { cert: 'cert.pem', key: 'key.pem', passphrase: 7 } }));
  expect(await startError(['start', '--config', file, '--tls-cert', 'new.pem'], {}, file)).toBe('tls.passphrase (config file <file>) must be a string, got 7');
});

test('a SWITCHYARD_ variable that looks like a typo of an option is warned about, others are not', async () => {
  const parsed = await parseCli(['start'], cwd, { SWITCHYARD_WORKER: '4', SWITCHYARD_APP_SECRET: 'x', SWITCHYARD_CONFIG: '' });
  expect(parsed).toMatchObject({ warnings: ['SWITCHYARD_WORKER is not a Switchyard option (did you mean SWITCHYARD_WORKERS?); ignored'] });
});

test('the overview lists commands, not start\'s flags; start\'s help lists its flags and the environment', () => {
  expect(GENERAL_HELP).toContain('switchyard start --help');
  expect(GENERAL_HELP).not.toContain('--port');
  for (const flag of ['--port', '--host', '--workers', '--service', '--config', '--log-level', '--balancing', 'SWITCHYARD_<OPTION>', 'PORT']) expect(START_HELP).toContain(flag);
});

test('an unknown key in a config file is named with the file and the nearest option', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ wokers: 2 }));
  expect(await startError(['start', '--config', file], {}, file)).toBe('wokers (config file <file>) is not a known option (did you mean workers?)');
});
