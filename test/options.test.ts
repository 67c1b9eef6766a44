import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { bundledServices, DEFAULT_MAX_PAYLOAD, resolveOptions, type SwitchyardOptions } from '../src/options';
import { isSwitchyardError } from '../src/errors';

function errorOf(options: unknown): { code: string; message: string } {
  try {
    resolveOptions(options as SwitchyardOptions);
  } catch (error) {
    if (isSwitchyardError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected resolveOptions to throw');
}

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
  ['unknown key', { prot: 1 }, 'options.prot is not a known option'],
  ['service name', { services: { '../x': './x.js' } }, 'options.services.../x must be named with letters, digits, "_" or "-" (at most 64, not starting with "_" or "-"), got "../x"'],
  ['service path', { services: { chat: '' } }, 'options.services.chat must be a module path, got ""'],
  ['empty services', { services: {} }, 'options.services must be an object with at least one service, got {}'],
  ['restart delays', { restartDelay: 500, maxRestartDelay: 100 }, 'options.maxRestartDelay must be at least options.restartDelay (500), got 100'],
  ['balancing', { balancing: 'random' }, 'options.balancing must be one of round-robin, kernel, got "random"'],
  ['cwd', { cwd: 'relative' }, 'options.cwd must be an absolute path, got "relative"'],
])('rejects a bad %s with SY_ERR_INVALID_OPTION and a dotted name', (_name, options, message) => {
  expect(errorOf(options)).toEqual({ code: 'SY_ERR_INVALID_OPTION', message });
});

test('non-object options are rejected', () => {
  expect(errorOf(null).code).toBe('SY_ERR_INVALID_OPTION');
});

test('balancing defaults to round-robin and accepts kernel', () => {
  expect(resolveOptions().balancing).toBe('round-robin');
  expect(resolveOptions({ balancing: 'kernel' }).balancing).toBe('kernel');
});
