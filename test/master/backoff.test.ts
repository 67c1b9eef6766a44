import { Backoff } from '../../src/master/backoff';

test('delays double from the initial one up to the cap', () => {
  const backoff = new Backoff(100, 1000, 10_000);
  expect([1, 2, 3, 4, 5, 6].map(() => backoff.next(50))).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect(backoff.consecutiveCrashes).toBe(6);
});

test('a process that stayed up for stableAfter starts the series anew', () => {
  const backoff = new Backoff(100, 10_000, 5000);
  backoff.next(10);
  backoff.next(10);
  expect(backoff.next(4999)).toBe(400);
  expect(backoff.next(5000)).toBe(100);
  expect(backoff.consecutiveCrashes).toBe(1);
});

test('a long crash series never overflows the cap', () => {
  const backoff = new Backoff(1, 60_000);
  let delay = 0;
  for (let i = 0; i < 200; i++) delay = backoff.next(0);
  expect(delay).toBe(60_000);
});
