import { closest, editDistance } from '../src/did-you-mean';

test('edit distance counts insertions, deletions, substitutions and swaps of neighbours', () => {
  expect(editDistance('start', 'start')).toBe(0);
  expect(editDistance('strat', 'start')).toBe(1);
  expect(editDistance('wokers', 'workers')).toBe(1);
  expect(editDistance('Port', 'port')).toBe(0);
  expect(editDistance('', 'abc')).toBe(3);
  expect(editDistance('kitten', 'sitting')).toBe(3);
});

test('closest suggests only what is near enough to be a typo', () => {
  expect(closest('--wokers', ['--port', '--workers'])).toBe('--workers');
  expect(closest('--x', ['--port', '--host'])).toBeUndefined();
  expect(closest('SWITCHYARD_WORKER', ['SWITCHYARD_WORKERS', 'SWITCHYARD_PORT'])).toBe('SWITCHYARD_WORKERS');
  expect(closest('SWITCHYARD_APP_SECRET', ['SWITCHYARD_WORKERS', 'SWITCHYARD_PORT'])).toBeUndefined();
  expect(closest('prot', ['port'])).toBe('port');
});
