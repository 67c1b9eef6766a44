import { PendingReplies, type PendingHandlers } from '../src/pending-replies';

interface Outcome {
  readonly kind: 'reply' | 'timeout' | 'cancel';
  readonly value?: string;
}

/** Handlers that record how each request settled. */
function recorder(outcomes: Outcome[], withCancel = true): PendingHandlers<string> {
  return {
    onReply: (value) => outcomes.push({ kind: 'reply', value }),
    onTimeout: () => outcomes.push({ kind: 'timeout' }),
    ...(withCancel ? { onCancel: (reason: string) => outcomes.push({ kind: 'cancel', value: reason }) } : {}),
  };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a reply settles its request once, by sequence number; a second or unknown reply is refused', () => {
  const pending = new PendingReplies<string>();
  const outcomes: Outcome[] = [];
  const a = pending.add(1000, recorder(outcomes));
  const b = pending.add(1000, recorder(outcomes));
  expect(a).not.toBe(b);
  expect(pending.size).toBe(2);
  expect(pending.settle(b, 'to b')).toBe(true);
  expect(pending.settle(b, 'again')).toBe(false);
  expect(pending.settle(999, 'nobody')).toBe(false);
  expect(pending.settle(a, 'to a')).toBe(true);
  expect(outcomes).toEqual([
    { kind: 'reply', value: 'to b' },
    { kind: 'reply', value: 'to a' },
  ]);
  expect(pending.size).toBe(0);
  // Settled requests leave no timer behind.
  jest.advanceTimersByTime(5000);
  expect(outcomes).toHaveLength(2);
});

test('a request without a reply times out at its deadline, and a late reply is refused', () => {
  const pending = new PendingReplies<string>();
  const outcomes: Outcome[] = [];
  const seq = pending.add(1000, recorder(outcomes));
  jest.advanceTimersByTime(999);
  expect(outcomes).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(outcomes).toEqual([{ kind: 'timeout' }]);
  expect(pending.size).toBe(0);
  expect(pending.settle(seq, 'late')).toBe(false);
  expect(outcomes).toHaveLength(1);
});

test('forget() drops a request without settling it', () => {
  const pending = new PendingReplies<string>();
  const outcomes: Outcome[] = [];
  const seq = pending.add(1000, recorder(outcomes));
  pending.forget(seq);
  pending.forget(seq);
  jest.advanceTimersByTime(2000);
  expect(pending.settle(seq, 'late')).toBe(false);
  expect(outcomes).toEqual([]);
  expect(pending.size).toBe(0);
});

test('cancelAll() settles everything now with the reason, through onTimeout when a request has no onCancel', () => {
  const pending = new PendingReplies<string>();
  const outcomes: Outcome[] = [];
  pending.add(1000, recorder(outcomes));
  pending.add(1000, recorder(outcomes, false));
  pending.cancelAll('stopping');
  expect(outcomes).toEqual([{ kind: 'cancel', value: 'stopping' }, { kind: 'timeout' }]);
  expect(pending.size).toBe(0);
  jest.advanceTimersByTime(2000);
  expect(outcomes).toHaveLength(2);
});

test('a handler may add a request while another settles (sequence numbers never repeat)', () => {
  const pending = new PendingReplies<string>();
  const seqs = new Set<number>();
  const outcomes: Outcome[] = [];
  const first = pending.add(1000, {
    onReply: () => seqs.add(pending.add(1000, recorder(outcomes))),
    onTimeout: () => undefined,
  });
  seqs.add(first);
  pending.settle(first, 'x');
  expect(seqs.size).toBe(2);
  expect(pending.size).toBe(1);
});

test('cancel settles one request through onCancel and leaves the others waiting', () => {
  const pending = new PendingReplies<string>();
  const outcomes: string[] = [];
  const first = pending.add(10_000, { onReply: (r) => outcomes.push(`reply ${r}`), onTimeout: () => outcomes.push('timeout'), onCancel: (why) => outcomes.push(`cancel ${why}`) });
  const second = pending.add(10_000, { onReply: (r) => outcomes.push(`reply ${r}`), onTimeout: () => outcomes.push('timeout') });
  expect(pending.cancel(first, 'gone')).toBe(true);
  expect(pending.cancel(first, 'gone')).toBe(false);
  expect(pending.settle(second, 'ok')).toBe(true);
  expect(outcomes).toEqual(['cancel gone', 'reply ok']);
  expect(pending.size).toBe(0);
});
