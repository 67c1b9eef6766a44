import { createLogger, withoutBaseKeys } from '../src/logger';
import { duplicateKeys } from './helpers/json-keys';

test('a field named like a binding is renamed child<Key>, or dropped when it repeats it', () => {
  const base = { role: 'master', pid: 10 };
  const object = { worker: 1, pid: 11 };
  expect(withoutBaseKeys(object, base)).toEqual({ worker: 1, childPid: 11 });
  expect(withoutBaseKeys({ pid: 10, msg: 'x' }, base)).toEqual({ msg: 'x' });
  // Nothing to rename: the same object, no copy.
  const plain = { worker: 1 };
  expect(withoutBaseKeys(plain, base)).toBe(plain);
});

test('the lines a logger writes carry each key once', () => {
  const lines: string[] = [];
  const log = createLogger('debug', 'master', { service: 'chat' }, { destination: { write: (line: string) => void lines.push(line) } });
  log.info({ pid: 4242, service: 'chat', role: 'worker' }, 'service process forked');
  expect(lines).toHaveLength(1);
  expect(duplicateKeys(lines[0] as string)).toEqual([]);
  expect(JSON.parse(lines[0] as string)).toMatchObject({ role: 'master', pid: process.pid, service: 'chat', childPid: 4242, childRole: 'worker', msg: 'service process forked' });
});
