import { WorkerInterest } from '../../src/services/worker-interest';

test('a topic is routed to exactly the workers holding a subscriber, counted per worker', () => {
  const interest = new WorkerInterest();
  interest.add(1, 'news');
  interest.add(1, 'news');
  interest.add(2, 'news');
  interest.add(2, 'sport');
  expect([...interest.workersFor('news')].sort()).toEqual([1, 2]);
  expect([...interest.workersFor('sport')]).toEqual([2]);
  expect([...interest.workersFor('nobody')]).toEqual([]);
  interest.remove(1, 'news');
  expect([...interest.workersFor('news')].sort()).toEqual([1, 2]);
  interest.remove(1, 'news');
  expect([...interest.workersFor('news')]).toEqual([2]);
  interest.remove(2, 'news');
  interest.remove(2, 'sport');
  expect(interest.topicCount).toBe(0);
});

test('removing what was never added changes nothing', () => {
  const interest = new WorkerInterest();
  interest.remove(3, 'ghost');
  interest.add(1, 't');
  interest.remove(2, 't');
  expect([...interest.workersFor('t')]).toEqual([1]);
});

test('with several instances, a publish goes to the workers this instance routes and those that reported a subscriber of another instance', () => {
  const interest = new WorkerInterest();
  interest.add(1, 'news');
  expect(interest.reportedAnywhere('news')).toBe(false);
  interest.report(2, 'news', true);
  interest.report(3, 'sport', true);
  expect([...interest.workersFor('news')].sort()).toEqual([1, 2]);
  expect([...interest.workersFor('sport')]).toEqual([3]);
  expect(interest.reportedAnywhere('sport')).toBe(true);
  interest.report(2, 'news', false);
  expect([...interest.workersFor('news')]).toEqual([1]);
  // A worker whose link closed takes its reports with it.
  interest.dropWorker(3);
  expect([...interest.workersFor('sport')]).toEqual([]);
  expect(interest.reportedAnywhere('sport')).toBe(false);
});
