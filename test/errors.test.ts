import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, SwitchyardError, isSendableCloseCode, isSendableCloseReason, isSwitchyardError, toErrorInfo } from '../src/errors';

test('the registry, the table in docs/errors.md and the code agree', () => {
  const docs = readFileSync(path.join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...docs.matchAll(/^\| `(SY_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  const sources = ['master', 'worker', 'services', 'nats', '.'].flatMap((folder) => {
    const dir = path.join(__dirname, '..', 'src', folder);
    return require('node:fs').readdirSync(dir).filter((f: string) => f.endsWith('.ts')).map((f: string) => readFileSync(path.join(dir, f), 'utf8'));
  }).join('\n');
  for (const code of Object.keys(ERROR_CODES)) {
    // Every code is raised somewhere: a registry entry nobody throws is dead.
    expect(sources.split(`'${code}'`).length - 1).toBeGreaterThanOrEqual(code === 'SY_ERR_INVALID_OPTION' ? 2 : 1);
  }
});

test('errors carry code and cause', () => {
  const cause = new Error('low level');
  const error = new SwitchyardError('SY_ERR_CONFIG_FILE', 'bad file', { cause });
  expect(error.code).toBe('SY_ERR_CONFIG_FILE');
  expect(error.cause).toBe(cause);
  expect(error.name).toBe('SwitchyardError');
  expect(isSwitchyardError(error, 'SY_ERR_CONFIG_FILE')).toBe(true);
  expect(isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')).toBe(false);
  expect(toErrorInfo(error)).toMatchObject({ message: 'bad file', code: 'SY_ERR_CONFIG_FILE' });
  expect(toErrorInfo('plain')).toEqual({ message: 'plain' });
});

test('close codes and reasons an application may send', () => {
  for (const code of [1000, 1001, 1008, 1011, 1012, 1013, 3000, 4999]) expect(isSendableCloseCode(code)).toBe(true);
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5, '1000']) expect(isSendableCloseCode(code)).toBe(false);
  expect(isSendableCloseReason('é'.repeat(61))).toBe(true);
  expect(isSendableCloseReason('é'.repeat(62))).toBe(false);
});
