import { ClientIdAllocator, formatClientId, sequenceOfClientId, workerOfClientId } from '../src/client-id';

test('ids name their worker and are unique per worker', () => {
  const allocator = new ClientIdAllocator(37);
  const ids = new Set(Array.from({ length: 1000 }, () => allocator.next()));
  expect(ids.size).toBe(1000);
  for (const id of ids) expect(workerOfClientId(id)).toBe(37);
});

test('ids of different workers never collide', () => {
  expect(formatClientId(1, 11)).not.toBe(formatClientId(11, 1));
  expect(workerOfClientId(formatClientId(123456, 1))).toBe(123456);
});

test('malformed ids have no worker and no sequence', () => {
  for (const id of ['', '1', '1.', '.1', '1.1.1', 'A.1', '1-1', '../1.1', '1.1 ']) {
    expect(workerOfClientId(id)).toBeUndefined();
    expect(sequenceOfClientId(id)).toBeUndefined();
  }
});

test('the sequence part reads back', () => {
  expect(sequenceOfClientId(formatClientId(7, 12345))).toBe(12345);
});

test('a negative or fractional worker id is a caller bug', () => {
  expect(() => new ClientIdAllocator(-1)).toThrow(RangeError);
  expect(() => new ClientIdAllocator(1.5)).toThrow(RangeError);
});

test('an allocator knows the ids it issued, and only those', () => {
  const ids = new ClientIdAllocator(3);
  const first = ids.next();
  const second = ids.next();
  expect(ids.issued(first)).toBe(true);
  expect(ids.issued(second)).toBe(true);
  // Not yet issued, another worker's, sequence 0, malformed.
  for (const id of [formatClientId(3, 3), formatClientId(4, 1), formatClientId(3, 0), '3.', 'x']) expect(ids.issued(id)).toBe(false);
});
