import { TokenBucket } from '../../src/worker/rate-limit';

test('a full bucket allows a burst, then one message per 1000/rate ms', () => {
  const bucket = new TokenBucket(10, 10, 0);
  for (let i = 0; i < 10; i++) expect(bucket.take(0)).toBe(true);
  expect(bucket.take(0)).toBe(false);
  expect(bucket.take(99)).toBe(false);
  expect(bucket.take(100)).toBe(true);
  expect(bucket.take(100)).toBe(false);
});

test('refill is capped at the burst however long the client was quiet', () => {
  const bucket = new TokenBucket(5, 5, 0);
  const allowed = Array.from({ length: 20 }, () => bucket.take(60_000)).filter(Boolean).length;
  expect(allowed).toBe(5);
});

test('a sustained rate at the limit is never refused', () => {
  const bucket = new TokenBucket(100, 100, 0);
  for (let t = 0; t < 5000; t += 10) expect(bucket.take(t)).toBe(true);
});

test('a clock going backwards refills nothing', () => {
  const bucket = new TokenBucket(1, 1, 1000);
  expect(bucket.take(1000)).toBe(true);
  expect(bucket.take(0)).toBe(false);
  expect(bucket.take(1000)).toBe(false);
});

test('a rate of 0 is a caller bug', () => {
  expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
});

test('taking many tokens at once (bytes): all or none', () => {
  const bucket = new TokenBucket(1000, 1500, 0);
  expect(bucket.take(0, 1200)).toBe(true);
  // 300 left: 400 is refused and takes nothing, so 300 still fits.
  expect(bucket.take(0, 400)).toBe(false);
  expect(bucket.take(0, 300)).toBe(true);
  expect(bucket.take(500, 501)).toBe(false);
  expect(bucket.take(500, 500)).toBe(true);
});
