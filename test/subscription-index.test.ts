import { SubscriptionIndex } from '../src/subscription-index';

test('both directions stay in step', () => {
  const index = new SubscriptionIndex();
  expect(index.add('a', 't1')).toBe(true);
  expect(index.add('a', 't1')).toBe(false);
  index.add('a', 't2');
  index.add('b', 't1');
  expect([...index.subscribers('t1')].sort()).toEqual(['a', 'b']);
  expect([...index.topicsOf('a')].sort()).toEqual(['t1', 't2']);
  expect(index.removeClient('a').sort()).toEqual(['t1', 't2']);
  expect(index.count('t1')).toBe(1);
  expect(index.count('t2')).toBe(0);
  expect(index.topicCount).toBe(1);
  expect(index.remove('b', 't1')).toBe(true);
  expect(index.topicCount).toBe(0);
  expect(index.removeClient('nobody')).toEqual([]);
});
