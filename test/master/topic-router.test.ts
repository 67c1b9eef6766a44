import { TopicRouter } from '../../src/master/topic-router';

test('publishes go only to workers with a subscriber, once each', () => {
  const router = new TopicRouter();
  expect(router.subscribe('chat', '1.1', 'room:a')).toBe(true);
  expect(router.subscribe('chat', '1.2', 'room:a')).toBe(true);
  expect(router.subscribe('chat', '2.1', 'room:a')).toBe(true);
  expect(router.subscribe('chat', '2.1', 'room:a')).toBe(false);
  expect(router.subscribe('chat', '3.1', 'room:b')).toBe(true);
  expect([...router.workersFor('chat', 'room:a')].sort()).toEqual([1, 2]);
  expect([...router.workersFor('chat', 'room:b')]).toEqual([3]);
  expect([...router.workersFor('chat', 'room:none')]).toEqual([]);
  expect(router.subscriberCount('chat', 'room:a')).toBe(3);
});

test('topics are per service', () => {
  const router = new TopicRouter();
  router.subscribe('chat', '1.1', 'news');
  expect([...router.workersFor('other', 'news')]).toEqual([]);
});

test('a worker stays interested until its last subscriber leaves; closes drop every subscription', () => {
  const router = new TopicRouter();
  router.subscribe('chat', '1.1', 't');
  router.subscribe('chat', '1.2', 't');
  router.subscribe('chat', '1.2', 'u');
  expect(router.unsubscribe('chat', '1.1', 't')).toBe(true);
  expect(router.unsubscribe('chat', '1.1', 't')).toBe(false);
  expect([...router.workersFor('chat', 't')]).toEqual([1]);
  router.removeClient('chat', '1.2');
  expect([...router.workersFor('chat', 't')]).toEqual([]);
  expect([...router.workersFor('chat', 'u')]).toEqual([]);
  expect(router.subscriberCount('chat', 't')).toBe(0);
});

test('ids that name no worker are refused', () => {
  expect(new TopicRouter().subscribe('chat', 'nonsense', 't')).toBe(false);
});
