import { EXPIRED, settleWithin, type LateOutcome } from '../../src/services/deadline';
import { expectNothingWithin } from '../helpers/expect-nothing';

/** Hooks that record what they were told; `late()` resolves at the next late report. */
function recorder(): { hooks: Parameters<typeof settleWithin>[2]; events: string[]; late: () => Promise<[LateOutcome, unknown]> } {
  const events: string[] = [];
  let waiter: ((report: [LateOutcome, unknown]) => void) | undefined;
  return {
    events,
    hooks: {
      expired: () => void events.push('expired'),
      late: (outcome, error) => {
        events.push(`late ${outcome}`);
        waiter?.([outcome, error]);
      },
    },
    late: () => new Promise((resolve) => (waiter = resolve)),
  };
}

test('a promise that settles in time is followed, value or rejection, and nothing is reported later', async () => {
  const { hooks, events, late } = recorder();
  await expect(settleWithin(Promise.resolve(7), 30, hooks)).resolves.toBe(7);
  const broken = new Error('broken');
  await expect(settleWithin(Promise.reject(broken), 30, hooks)).rejects.toBe(broken);
  // Past both deadlines: their timers were cleared.
  await expectNothingWithin(80, late(), 'a late report');
  expect(events).toEqual([]);
});

test('past the deadline it resolves with EXPIRED, and a later settlement is reported, never followed', async () => {
  const { hooks, events, late } = recorder();
  let resolve!: (value: string) => void;
  const pending = new Promise<string>((res) => (resolve = res));
  await expect(settleWithin(pending, 20, hooks)).resolves.toBe(EXPIRED);
  expect(events).toEqual(['expired']);
  const reported = late();
  resolve('too late');
  expect(await reported).toEqual(['resolved', undefined]);
  let reject!: (error: Error) => void;
  const failing = new Promise<string>((_res, rej) => (reject = rej));
  await expect(settleWithin(failing, 20, hooks)).resolves.toBe(EXPIRED);
  const rejected = late();
  const error = new Error('late failure');
  reject(error);
  expect(await rejected).toEqual(['rejected', error]);
  expect(events).toEqual(['expired', 'late resolved', 'expired', 'late rejected']);
});
