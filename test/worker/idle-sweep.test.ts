import { IdleSweep, idleSweepInterval } from '../../src/worker/idle-sweep';

test('a peer silent for the timeout is closed once; an active one is not', () => {
  const idled: string[] = [];
  let now = 0;
  const sweep = new IdleSweep<string>(1000, (peer) => idled.push(peer), () => now);
  sweep.add('quiet');
  sweep.add('chatty');
  now = 600;
  sweep.touch('chatty');
  sweep.sweep();
  expect(idled).toEqual([]);
  now = 1000;
  sweep.sweep();
  expect(idled).toEqual(['quiet']);
  // A message from a peer that is already being closed does not bring it back.
  sweep.touch('quiet');
  now = 1600;
  sweep.sweep();
  expect(idled).toEqual(['quiet', 'chatty']);
  now = 5000;
  sweep.sweep();
  expect(idled).toEqual(['quiet', 'chatty']);
  sweep.close();
});

test('a timeout of 0 tracks nothing', () => {
  const idled: string[] = [];
  const sweep = new IdleSweep<string>(0, (peer) => idled.push(peer), () => 1e9);
  sweep.add('a');
  sweep.sweep();
  expect(sweep.enabled).toBe(false);
  expect(idled).toEqual([]);
  sweep.close();
});

test('the sweep runs at a quarter of the timeout, between 10 ms and 1 s', () => {
  expect(idleSweepInterval(1)).toBe(10);
  expect(idleSweepInterval(400)).toBe(100);
  expect(idleSweepInterval(600_000)).toBe(1000);
});
