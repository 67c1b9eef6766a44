import { SendQueue, utf8Length } from '../../src/client/send-queue';

test('utf8Length counts UTF-8 bytes without encoding', () => {
  for (const text of ['', 'hello', 'é', '€', '😀', 'a😀b€c', '\ud800x', 'x\udc00']) {
    expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
  }
});

test('the queue is bounded by count, refuses (never evicts) and keeps order', () => {
  const queue = new SendQueue(2, 1000);
  expect(queue.push({ frame: 'a', bytes: 1 })).toBe(true);
  expect(queue.push({ frame: 'b', bytes: 1 })).toBe(true);
  expect(queue.push({ frame: 'c', bytes: 1 })).toBe(false);
  expect(queue.length).toBe(2);
  expect(queue.shift()?.frame).toBe('a');
  expect(queue.push({ frame: 'c', bytes: 1 })).toBe(true);
  expect(queue.drain().map((entry) => entry.frame)).toEqual(['b', 'c']);
  expect(queue.length).toBe(0);
  expect(queue.bytes).toBe(0);
});

test('the queue is bounded by bytes; remove takes one entry out', () => {
  const queue = new SendQueue(100, 10);
  const first = { frame: 'x', bytes: 6 };
  expect(queue.push(first)).toBe(true);
  expect(queue.push({ frame: 'y', bytes: 5 })).toBe(false);
  expect(queue.push({ frame: 'z', bytes: 4 })).toBe(true);
  expect(queue.bytes).toBe(10);
  queue.remove(first);
  expect(queue.bytes).toBe(4);
  expect(queue.push({ frame: 'y', bytes: 5 })).toBe(true);
  expect(queue.drain().map((entry) => entry.frame)).toEqual(['z', 'y']);
});
