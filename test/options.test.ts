import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { bundledServices, DEFAULT_MAX_PAYLOAD, resolveOptions } from '../src/options';
import { reusePortAvailable } from '../src/balancing';
import { errorOf } from './helpers/option-errors';

test('defaults', () => {
  const options = resolveOptions();
  expect(options.port).toBe(8080);
  expect(options.host).toBe('0.0.0.0');
  expect(options.workers).toBe(availableParallelism());
  expect(options.services).toEqual(bundledServices());
  expect(Object.keys(options.services)).toEqual(['echo', 'chat']);
  expect(options.maxPayload).toBe(DEFAULT_MAX_PAYLOAD);
  expect(options.logLevel).toBe('info');
  expect(Object.isFrozen(options)).toBe(true);
  expect(Object.isFrozen(options.services)).toBe(true);
});

test('relative service paths resolve against cwd; header names are lower-cased', () => {
  const options = resolveOptions({ cwd: '/srv/app', services: { chat: './chat.js' }, forwardHeaders: ['X-Token'] });
  expect(options.services).toEqual({ chat: path.resolve('/srv/app', 'chat.js') });
  expect(options.forwardHeaders).toEqual(['x-token']);
});

test.each<[string, unknown, string]>([
  ['port', { port: 70000 }, 'options.port must be an integer from 0 to 65535, got 70000'],
  ['port type', { port: '80' }, 'options.port must be an integer from 0 to 65535, got "80"'],
  ['workers', { workers: 0 }, 'options.workers must be an integer from 1 to 256, got 0'],
  ['host', { host: '' }, 'options.host must be a non-empty string, got ""'],
  ['logLevel', { logLevel: 'loud' }, 'options.logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
  ['unknown key', { prot: 1 }, 'options.prot is not a known option (did you mean port?)'],
  ['service name', { services: { '../x': './x.js' } }, 'options.services.../x must be named with letters, digits, "_" or "-" (at most 64, not starting with "_" or "-"), got "../x"'],
  ['service path', { services: { chat: '' } }, 'options.services.chat must be a module path, got ""'],
  ['empty services', { services: {} }, 'options.services must be an object with at least one service, got {}'],
  ['restart delays', { restartDelay: 500, maxRestartDelay: 100 }, 'options.maxRestartDelay must be at least options.restartDelay (500), got 100'],
  ['balancing', { balancing: 'random' }, 'options.balancing must be one of round-robin, kernel, kernel-fair, reuse-port, auto, got "random"'],
  ['cwd', { cwd: 'relative' }, 'options.cwd must be an absolute path, got "relative"'],
])('rejects a bad %s with SY_ERR_INVALID_OPTION and a dotted name', (_name, options, message) => {
  expect(errorOf(options)).toEqual({ code: 'SY_ERR_INVALID_OPTION', message });
});

test('non-object options are rejected', () => {
  expect(errorOf(null).code).toBe('SY_ERR_INVALID_OPTION');
});

test('limit defaults', () => {
  const options = resolveOptions();
  expect({
    maxBufferedBytes: options.maxBufferedBytes,
    heartbeatInterval: options.heartbeatInterval,
    idleTimeout: options.idleTimeout,
    handshakeTimeout: options.handshakeTimeout,
    maxConnectionsPerWorker: options.maxConnectionsPerWorker,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    maxMessagesPerSecond: options.maxMessagesPerSecond,
    allowedOrigins: options.allowedOrigins,
    perMessageDeflate: options.perMessageDeflate,
    maxHeaderSize: options.maxHeaderSize,
  }).toEqual({
    maxBufferedBytes: 4 * 1024 * 1024,
    heartbeatInterval: 30_000,
    idleTimeout: 0,
    handshakeTimeout: 10_000,
    maxConnectionsPerWorker: 10_000,
    maxConnectionsPerIp: 1000,
    maxMessagesPerSecond: 1000,
    allowedOrigins: '*',
    perMessageDeflate: false,
    maxHeaderSize: 16 * 1024,
  });
});

test('HTTP body limits: defaults, and a body budget below maxRequestBody is refused', () => {
  const options = resolveOptions();
  expect([options.requestBodyTimeout, options.requestBodyIdleTimeout, options.maxBufferedRequestBytes, options.maxHttpConnectionsPerIp]).toEqual([30_000, 10_000, 64 * 1024 * 1024, 256]);
  expect(errorOf({ maxRequestBody: 8192, maxBufferedRequestBytes: 4096 }).message).toBe('options.maxBufferedRequestBytes must be at least options.maxRequestBody (8192), got 4096');
  expect(resolveOptions({ maxRequestBody: 4096, maxBufferedRequestBytes: 4096 }).maxBufferedRequestBytes).toBe(4096);
});

test('limits of 0 turn heartbeat, idle timeout and rate limit off; origins are kept as given', () => {
  const options = resolveOptions({ heartbeatInterval: 0, idleTimeout: 0, maxMessagesPerSecond: 0, allowedOrigins: ['https://a.example', 'http://localhost:8080'] });
  expect([options.heartbeatInterval, options.idleTimeout, options.maxMessagesPerSecond]).toEqual([0, 0, 0]);
  expect(options.allowedOrigins).toEqual(['https://a.example', 'http://localhost:8080']);
  expect(Object.isFrozen(options.allowedOrigins)).toBe(true);
});

test.each<[string, unknown, string]>([
  ['maxBufferedBytes', { maxBufferedBytes: 10 }, 'options.maxBufferedBytes must be an integer from 1024 to 1073741824, got 10'],
  ['maxPayload past what a link message holds once base64-encoded', { maxPayload: 48 * 1024 * 1024 + 1 }, 'options.maxPayload must be an integer from 1 to 50331648, got 50331649'],
  ['maxPayload at the old bound (64 MiB)', { maxPayload: 64 * 1024 * 1024 }, 'options.maxPayload must be an integer from 1 to 50331648, got 67108864'],
  ['maxRequestBody at the old bound (1 GiB, past V8\'s string limit)', { maxRequestBody: 1024 * 1024 * 1024 }, 'options.maxRequestBody must be an integer from 0 to 50331648, got 1073741824'],
  ['maxRequestBody past what a link message holds once base64-encoded', { maxRequestBody: 48 * 1024 * 1024 + 1 }, 'options.maxRequestBody must be an integer from 0 to 50331648, got 50331649'],
  ['heartbeatInterval', { heartbeatInterval: -1 }, 'options.heartbeatInterval must be 0 (off) or an integer from 1000 to 3600000, got -1'],
  ['heartbeatInterval of 1 ms (terminated every client within 46 ms)', { heartbeatInterval: 1 }, 'options.heartbeatInterval must be 0 (off) or an integer from 1000 to 3600000, got 1'],
  ['heartbeatInterval below a round trip of a slow client', { heartbeatInterval: 999 }, 'options.heartbeatInterval must be 0 (off) or an integer from 1000 to 3600000, got 999'],
  ['idleTimeout', { idleTimeout: 1.5 }, 'options.idleTimeout must be 0 (off) or an integer from 1000 to 86400000, got 1.5'],
  ['idleTimeout of 1 ms', { idleTimeout: 1 }, 'options.idleTimeout must be 0 (off) or an integer from 1000 to 86400000, got 1'],
  ['handshakeTimeout', { handshakeTimeout: 0 }, 'options.handshakeTimeout must be an integer from 500 to 3600000, got 0'],
  ['handshakeTimeout of 1 ms', { handshakeTimeout: 1 }, 'options.handshakeTimeout must be an integer from 500 to 3600000, got 1'],
  ['requestTimeout of 1 ms', { requestTimeout: 1 }, 'options.requestTimeout must be an integer from 100 to 3600000, got 1'],
  ['startTimeout of 1 ms', { startTimeout: 1 }, 'options.startTimeout must be an integer from 1000 to 3600000, got 1'],
  ['stopTimeout of 1 ms', { stopTimeout: 1 }, 'options.stopTimeout must be an integer from 1000 to 3600000, got 1'],
  ['restartDelay of 0 (a busy fork loop)', { restartDelay: 0 }, 'options.restartDelay must be an integer from 10 to 3600000, got 0'],
  ['maxRestartDelay of 0', { maxRestartDelay: 0 }, 'options.maxRestartDelay must be an integer from 10 to 3600000, got 0'],
  ['crashLoopWindow of 1 ms (no crash loop ever seen)', { crashLoopWindow: 1 }, 'options.crashLoopWindow must be an integer from 1000 to 86400000, got 1'],
  ['maxConnectionsPerWorker', { maxConnectionsPerWorker: 0 }, 'options.maxConnectionsPerWorker must be an integer from 1 to 10000000, got 0'],
  ['maxConnectionsPerIp', { maxConnectionsPerIp: '5' }, 'options.maxConnectionsPerIp must be an integer from 1 to 10000000, got "5"'],
  ['maxMessagesPerSecond', { maxMessagesPerSecond: -5 }, 'options.maxMessagesPerSecond must be an integer from 0 to 10000000, got -5'],
  ['allowedOrigins type', { allowedOrigins: 'https://a.example' }, 'options.allowedOrigins must be "*" or a non-empty array of origins, got "https://a.example"'],
  ['allowedOrigins empty', { allowedOrigins: [] }, 'options.allowedOrigins must be "*" or a non-empty array of origins, got []'],
  ['allowedOrigins entry', { allowedOrigins: ['https://a.example', 'https://b.example/'] }, 'options.allowedOrigins.1 must be an origin like "https://example.com" (scheme, host, optional port; no path), got "https://b.example/"'],
  ['perMessageDeflate', { perMessageDeflate: 'yes' }, 'options.perMessageDeflate must be true or false, got "yes"'],
  ['maxHeaderSize', { maxHeaderSize: 100 }, 'options.maxHeaderSize must be an integer from 1024 to 1048576, got 100'],
])('rejects a bad limit %s with a dotted name', (_name, options, message) => {
  expect(errorOf(options)).toEqual({ code: 'SY_ERR_INVALID_OPTION', message });
});

test('balancing defaults to auto and accepts round-robin, kernel and kernel-fair', () => {
  expect(resolveOptions().balancing).toBe('auto');
  expect(resolveOptions({ balancing: 'kernel' }).balancing).toBe('kernel');
  expect(resolveOptions({ balancing: 'kernel-fair' }).balancing).toBe('kernel-fair');
  expect(resolveOptions({ balancing: 'round-robin' }).balancing).toBe('round-robin');
});

test("balancing 'reuse-port' is taken where the runtime has it and refused with the reason where not", () => {
  if (reusePortAvailable()) {
    expect(resolveOptions({ balancing: 'reuse-port' }).balancing).toBe('reuse-port');
  } else {
    const { code, message } = errorOf({ balancing: 'reuse-port' });
    expect(code).toBe('SY_ERR_INVALID_OPTION');
    expect(message).toContain(`'reuse-port' needs Node.js 22.12+ or 23.1+ on Linux or FreeBSD; this is ${process.version}`);
  }
});

test('the size options accept their new maxima', () => {
  const max = 48 * 1024 * 1024;
  const options = resolveOptions({ maxPayload: max, maxRequestBody: max });
  expect([options.maxPayload, options.maxRequestBody]).toEqual([max, max]);
});

test('readiness: /readyz and a 5 s liveness deadline by default; the path must differ from the health and metrics paths; at least 1 s', () => {
  const options = resolveOptions();
  expect(options.readyPath).toBe('/readyz');
  expect(options.livenessTimeout).toBe(5000);
  expect(resolveOptions({ readyPath: false }).readyPath).toBe(false);
  expect(errorOf({ readyPath: '/healthz' })).toEqual({
    code: 'SY_ERR_INVALID_OPTION',
    message: 'options.readyPath must be different from options.healthPath and options.metricsPath, got "/healthz"',
  });
  expect(errorOf({ readyPath: '/m', metricsPath: '/m' }).message).toMatch(/^options.readyPath must be different/);
  expect(errorOf({ readyPath: '/services/x' }).message).toMatch(/^options.readyPath must be false or a path/);
  expect(errorOf({ livenessTimeout: 999 }).message).toBe('options.livenessTimeout must be an integer from 1000 to 3600000, got 999');
});

test('trustProxy: false by default; an address, a range, a preset or a list of them (comma lists split); anything else refused with its index', () => {
  expect(resolveOptions().trustProxy).toBe(false);
  expect(resolveOptions().forwardedHeader).toBe('x-forwarded-for');
  expect(resolveOptions({ trustProxy: 'loopback' }).trustProxy).toEqual(['loopback']);
  expect(resolveOptions({ trustProxy: ['10.0.0.0/8', '192.0.2.1, ::1'] }).trustProxy).toEqual(['10.0.0.0/8', '192.0.2.1', '::1']);
  expect(errorOf({ trustProxy: ['loopback', 'proxy.example.com'] }).message).toBe(
    'options.trustProxy.1 must be an IP address, a CIDR range or "loopback", "linklocal", "uniquelocal", got "proxy.example.com"',
  );
  expect(errorOf({ trustProxy: [] }).message).toMatch(/^options.trustProxy must be false, an address/);
  expect(errorOf({ trustProxy: true as never }).message).toMatch(/^options.trustProxy must be false, an address/);
  expect(errorOf({ forwardedHeader: 'x-real-ip' as never }).message).toBe('options.forwardedHeader must be one of x-forwarded-for, forwarded, got "x-real-ip"');
});

test('opsPort: false by default, else a port other than options.port; opsHost 127.0.0.1 by default', () => {
  expect(resolveOptions().opsPort).toBe(false);
  expect(resolveOptions().opsHost).toBe('127.0.0.1');
  expect(resolveOptions({ opsPort: 0, port: 0 }).opsPort).toBe(0);
  expect(resolveOptions({ opsPort: 9090, opsHost: '::1' })).toMatchObject({ opsPort: 9090, opsHost: '::1' });
  expect(errorOf({ opsPort: 8080 }).message).toBe('options.opsPort must be different from options.port (8080), got 8080');
  expect(errorOf({ opsPort: 70000 }).message).toBe('options.opsPort must be false or an integer from 0 to 65535, got 70000');
  expect(errorOf({ opsHost: '' }).message).toBe('options.opsHost must be a non-empty string, got ""');
});

test("corsOrigins: false by default, '*' or a non-empty list of origins", () => {
  expect(resolveOptions().corsOrigins).toBe(false);
  expect(resolveOptions({ corsOrigins: '*' }).corsOrigins).toBe('*');
  expect(resolveOptions({ corsOrigins: ['https://a.example', 'http://localhost:3000'] }).corsOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
  expect(errorOf({ corsOrigins: [] }).message).toBe('options.corsOrigins must be false, "*" or a non-empty array of origins, got []');
  expect(errorOf({ corsOrigins: ['https://a.example/path'] }).message).toMatch(/^options.corsOrigins.0 must be an origin/);
});
