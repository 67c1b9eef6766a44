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

describe('one shared timer for the deadlines', () => {
  test('requests with the same timeout share one timer, each timing out at its own deadline', () => {
    const pending = new PendingReplies<string>();
    const timedOut: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < 100; i++) {
      const seq = pending.add(1000, { onReply: () => undefined, onTimeout: () => timedOut.push(seq) });
      seqs.push(seq);
      jest.advanceTimersByTime(5);
    }
    // A timer per request before.
    expect(jest.getTimerCount()).toBe(1);
    // Now 500 ms in. The oldest settles early: the others keep their deadlines (the next at 1,005 ms, 5 ms after the settled one's).
    pending.settle(seqs[0] as number, 'early');
    jest.advanceTimersByTime(504);
    expect(timedOut).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(timedOut).toEqual([seqs[1]]);
    jest.advanceTimersByTime(5 * 97);
    expect(timedOut).toHaveLength(98);
    jest.advanceTimersByTime(5);
    expect(timedOut).toEqual(seqs.slice(1));
    expect(pending.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a shorter timeout after a longer one still times out at its own deadline', () => {
    const pending = new PendingReplies<string>();
    const outcomes: string[] = [];
    pending.add(1000, { onReply: () => undefined, onTimeout: () => outcomes.push('long') });
    pending.add(100, { onReply: () => undefined, onTimeout: () => outcomes.push('short') });
    pending.add(1000, { onReply: () => undefined, onTimeout: () => outcomes.push('long 2') });
    jest.advanceTimersByTime(99);
    expect(outcomes).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(outcomes).toEqual(['short']);
    jest.advanceTimersByTime(900);
    expect(outcomes).toEqual(['short', 'long', 'long 2']);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a request added by a timeout handler during the sweep gets its full timeout, and nothing is armed twice', () => {
    const pending = new PendingReplies<string>();
    const outcomes: string[] = [];
    pending.add(100, {
      onReply: () => undefined,
      onTimeout: () => {
        outcomes.push('first');
        pending.add(100, { onReply: () => undefined, onTimeout: () => outcomes.push('second') });
      },
    });
    pending.add(100, { onReply: () => undefined, onTimeout: () => outcomes.push('beside') });
    jest.advanceTimersByTime(100);
    expect(outcomes).toEqual(['first', 'beside']);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(99);
    expect(outcomes).toEqual(['first', 'beside']);
    jest.advanceTimersByTime(1);
    expect(outcomes).toEqual(['first', 'beside', 'second']);
    expect(jest.getTimerCount()).toBe(0);
  });
  test('a table that empties between requests keeps its one timer (not cleared and set again), and a later shorter timeout is armed anew', () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    try {
      const pending = new PendingReplies<string>();
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) pending.settle(pending.add(1000, { onReply: () => outcomes.push('reply'), onTimeout: () => outcomes.push('timeout') }), 'ok');
      expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(500);
      pending.add(1000, { onReply: () => undefined, onTimeout: () => outcomes.push('late one') });
      pending.add(100, { onReply: () => undefined, onTimeout: () => outcomes.push('short') });
      jest.advanceTimersByTime(100);
      expect(outcomes.slice(10)).toEqual(['short']);
      jest.advanceTimersByTime(899);
      expect(outcomes.slice(10)).toEqual(['short']);
      jest.advanceTimersByTime(1);
      expect(outcomes.slice(10)).toEqual(['short', 'late one']);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });
});
