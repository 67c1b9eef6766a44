import { ThrottledWarning } from '../src/throttled-log';
import type { Logger } from '../src/logger';

function recordingLogger(): { log: Logger; lines: Array<{ fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const log = { warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) } as unknown as Logger;
  return { log, lines };
}

test('logs the first warning, counts the rest within the interval, reports the count with the next one', () => {
  const { log, lines } = recordingLogger();
  let now = 1000;
  const warning = new ThrottledWarning(log, 'bad thing', 100, () => now);
  for (let i = 0; i < 50; i++) warning.warn({ i });
  expect(lines).toEqual([{ fields: { i: 0 }, message: 'bad thing' }]);
  now += 100;
  warning.warn({ i: 50 });
  expect(lines).toHaveLength(2);
  expect(lines[1]).toEqual({ fields: { i: 50, suppressed: 49 }, message: 'bad thing' });
  now += 100;
  warning.warn({ i: 51 });
  expect(lines[2]).toEqual({ fields: { i: 51 }, message: 'bad thing' });
});
