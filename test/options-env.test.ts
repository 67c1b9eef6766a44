import { decode, environmentVariable, optionsFromEnvironment } from '../src/options-env';
import { resolveOptions } from '../src/options';
import { OPTION_NAMES, OPTION_SPECS, type CustomSpec } from '../src/options-spec';
import { isSwitchyardError } from '../src/errors';

test('every option of the table has its variable, in upper snake case', () => {
  expect(environmentVariable('maxPayload')).toBe('SWITCHYARD_MAX_PAYLOAD');
  expect(environmentVariable('ipcMaxQueuedMessages')).toBe('SWITCHYARD_IPC_MAX_QUEUED_MESSAGES');
  expect(environmentVariable('port')).toBe('SWITCHYARD_PORT');
  const env = Object.fromEntries(OPTION_NAMES.map((name) => [environmentVariable(name), 'x']));
  expect(Object.keys(optionsFromEnvironment(env).options)).toEqual([...OPTION_NAMES]);
});

test('each kind decodes from the table', () => {
  const { options } = optionsFromEnvironment({
    SWITCHYARD_WORKERS: '4',
    SWITCHYARD_PER_MESSAGE_DEFLATE: 'true',
    SWITCHYARD_LOG_LEVEL: 'warn',
    SWITCHYARD_ALLOWED_ORIGINS: 'https://a.example, https://b.example,',
    SWITCHYARD_FORWARD_HEADERS: 'x-token',
    SWITCHYARD_SERVICES: 'chat=./chat.js,echo=/srv/echo.js',
    SWITCHYARD_HEALTH_PATH: 'false',
    SWITCHYARD_METRICS_PATH: '/prom',
    SWITCHYARD_STATIC_DIR: 'false',
    HOST: '127.0.0.1',
  });
  expect(options).toEqual({
    workers: 4,
    perMessageDeflate: true,
    logLevel: 'warn',
    allowedOrigins: ['https://a.example', 'https://b.example'],
    forwardHeaders: ['x-token'],
    services: { chat: './chat.js', echo: '/srv/echo.js' },
    healthPath: false,
    metricsPath: '/prom',
    staticDir: false,
    host: '127.0.0.1',
  });
  // The same variables go through the one resolver like any other options.
  const resolved = resolveOptions({ ...options, cwd: '/srv' });
  expect(resolved.services).toEqual({ chat: '/srv/chat.js', echo: '/srv/echo.js' });
  expect(resolved.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
});

test('JSON for objects and lists, "*" as itself', () => {
  const { options } = optionsFromEnvironment({
    SWITCHYARD_SERVICES: '{"chat": "./chat.js"}',
    SWITCHYARD_FORWARD_HEADERS: '["a", "b"]',
    SWITCHYARD_ALLOWED_ORIGINS: '*',
  });
  expect(options).toEqual({ services: { chat: './chat.js' }, forwardHeaders: ['a', 'b'], allowedOrigins: '*' });
});

test('broken JSON names the variable', () => {
  let caught: unknown;
  try {
    optionsFromEnvironment({ SWITCHYARD_SERVICES: '{"chat":' });
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught, 'SY_ERR_INVALID_OPTION')).toBe(true);
  expect((caught as Error).message).toMatch(/^SWITCHYARD_SERVICES \(environment\) must be valid JSON: /);
});

test('what does not decode passes on as the string it is, for the resolver to refuse', () => {
  expect(decode('SWITCHYARD_WORKERS', '4x', OPTION_SPECS.workers)).toBe('4x');
  expect(decode('SWITCHYARD_PER_MESSAGE_DEFLATE', 'yes', OPTION_SPECS.perMessageDeflate)).toBe('yes');
  expect(decode('SWITCHYARD_PORT', ' 80 ', OPTION_SPECS.port)).toBe(80);
});

test('a custom option without a schema reads JSON, true/false or a string', () => {
  const spec: CustomSpec = { kind: 'custom', type: 'anything', default: undefined as unknown as never, defaultDoc: 'none', doc: '' };
  expect(decode('SWITCHYARD_X', '{"a":1}', spec)).toEqual({ a: 1 });
  expect(decode('SWITCHYARD_X', 'false', spec)).toBe(false);
  expect(decode('SWITCHYARD_X', 'a,b', spec)).toBe('a,b');
});

test('PORT and HOST are read, the prefixed names win', () => {
  expect(optionsFromEnvironment({ PORT: '9000', HOST: '::1' })).toMatchObject({
    options: { port: 9000, host: '::1' },
    origins: { port: { from: 'environment', variable: 'PORT' }, host: { from: 'environment', variable: 'HOST' } },
  });
  expect(optionsFromEnvironment({ PORT: '9000', SWITCHYARD_PORT: '9001' }).options).toEqual({ port: 9001 });
});

test('the front-door options decode to what their resolvers take, and resolve', () => {
  const { options } = optionsFromEnvironment({
    SWITCHYARD_OPS_PORT: '9090',
    SWITCHYARD_TRUST_PROXY: '10.0.0.0/8,loopback',
    SWITCHYARD_CORS_ORIGINS: 'https://a.example,https://b.example',
    SWITCHYARD_TLS: '{"cert":"c.pem","key":"k.pem"}',
  });
  expect(options).toEqual({ opsPort: 9090, trustProxy: '10.0.0.0/8,loopback', corsOrigins: ['https://a.example', 'https://b.example'], tls: { cert: 'c.pem', key: 'k.pem' } });
  const resolved = resolveOptions({ ...options, cwd: '/srv' });
  expect([resolved.opsPort, resolved.trustProxy, resolved.corsOrigins, resolved.tls]).toEqual([9090, ['10.0.0.0/8', 'loopback'], ['https://a.example', 'https://b.example'], { cert: '/srv/c.pem', key: '/srv/k.pem' }]);
  expect(optionsFromEnvironment({ SWITCHYARD_OPS_PORT: 'false' }).options).toEqual({ opsPort: false });
});
