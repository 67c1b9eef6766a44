import { encodeStamped, echoPayload, readEnd, readSeq, readTime, HEADER_BYTES } from '../src/payload';

test('a stamped payload is valid JSON of the asked size with fields at fixed offsets', () => {
  const data = encodeStamped(42, false, 1764097200123.456, 64);
  expect(data.length).toBe(64);
  expect(JSON.parse(data.toString())).toMatchObject({ seq: 42, end: 0, t: 1764097200123.456 });
  expect(readSeq(data)).toBe(42);
  expect(readEnd(data)).toBe(false);
  expect(readTime(data)).toBeCloseTo(1764097200123.456, 3);
  expect(readEnd(encodeStamped(7, true, 1, 200))).toBe(true);
  expect(encodeStamped(7, true, 1, 200).length).toBe(200);
});

test('anything else reads as no sequence number', () => {
  expect(readSeq(Buffer.from('hello'))).toBeNaN();
  expect(readSeq(Buffer.from('x'.repeat(HEADER_BYTES)))).toBeNaN();
});

test('the default echo payload is a 64-byte JSON text', () => {
  const data = echoPayload(64);
  expect(data.length).toBe(64);
  expect(() => JSON.parse(data.toString())).not.toThrow();
});
