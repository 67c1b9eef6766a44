import { addressesNeeded, loopbackAddress, planShards, sourceAddressFor } from '../src/source-address';

test('loopback addresses skip .0 and .255', () => {
  expect(loopbackAddress(0)).toBe('127.0.0.1');
  expect(loopbackAddress(253)).toBe('127.0.0.254');
  expect(loopbackAddress(254)).toBe('127.0.1.1');
  expect(() => loopbackAddress(-1)).toThrow(RangeError);
  expect(() => loopbackAddress(254 * 256)).toThrow(RangeError);
});

test('connections spread round-robin over as many addresses as they need', () => {
  expect(addressesNeeded(100, 20_000)).toBe(1);
  expect(addressesNeeded(60_000, 20_000)).toBe(3);
  expect(addressesNeeded(60_001, 20_000)).toBe(4);
  const counts = new Map<string, number>();
  for (let i = 0; i < 60_000; i++) {
    const address = sourceAddressFor(i, 60_000, 20_000);
    counts.set(address, (counts.get(address) ?? 0) + 1);
  }
  expect([...counts.entries()]).toEqual([['127.0.0.1', 20_000], ['127.0.0.2', 20_000], ['127.0.0.3', 20_000]]);
});

test('a base offset moves a run onto fresh addresses', () => {
  expect(sourceAddressFor(0, 10, 20_000, 5)).toBe('127.0.0.6');
  expect(sourceAddressFor(1, 40_000, 20_000, 5)).toBe('127.0.0.7');
});

test('shards split connections evenly and stay under the per-process cap', () => {
  expect(planShards(100, 0, 15_000)).toEqual([{ index: 0, first: 0, count: 100 }]);
  expect(planShards(60_000, 0, 15_000).map((s) => s.count)).toEqual([15_000, 15_000, 15_000, 15_000]);
  expect(planShards(10, 3, 15_000)).toEqual([{ index: 0, first: 0, count: 4 }, { index: 1, first: 4, count: 3 }, { index: 2, first: 7, count: 3 }]);
  // Asking for fewer processes than the cap allows still gets enough of them.
  expect(planShards(40_000, 2, 15_000)).toHaveLength(3);
});
