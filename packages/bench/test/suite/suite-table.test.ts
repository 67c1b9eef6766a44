import type { RowSpec, RunOutcome } from '../../suite/suite-scenarios';
import { TABLE_HEADER, tableHeader, tableLine, type SideRuns } from '../../suite/suite-table';

const row: RowSpec = { label: 'echo', figure: 'msgsPerSec', goal: 'min', target: 0.8, unit: 'msgs/s' };
const outcome = (value: number, errors: Record<string, number> = {}): RunOutcome => ({ figures: { msgsPerSec: value }, cpuSeconds: 1, rssBytes: 1024 * 1024, errors });
const side = (label: string, ...values: number[]): SideRuns => ({ label, outcomes: values.map((v) => outcome(v)), failures: [] });

test('without --socketio the header and lines are the nine columns they always were', () => {
  expect(TABLE_HEADER).toBe([
    '| scenario | Switchyard | baseline | ratio | target | result | Switchyard server CPU s / RSS | baseline server CPU s / RSS | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ].join('\n'));
  expect(tableLine(row, side('sy', 900), side('ws', 1000))).toBe('| echo | 900 msgs/s | 1,000 msgs/s | 0.90 | ≥ 0.8 | met | 1.00 s / 1.00 MiB (1 run) | 1.00 s / 1.00 MiB (1 run) |  |');
});

test('with --socketio three columns stand before the errors; target and result stay versus the baseline', () => {
  const header = tableHeader(true).split('\n');
  expect(header[0]).toContain('| baseline server CPU s / RSS | Socket.IO cluster | Switchyard / Socket.IO | Socket.IO server CPU s / RSS | errors |');
  expect(header[1]?.split('---').length).toBe(13);
  const sio: SideRuns = { label: 'sio', outcomes: [outcome(300, { timeout: 2 }), outcome(500)], failures: [] };
  expect(tableLine(row, side('sy', 900), side('ws', 1000), true, sio))
    .toBe('| echo | 900 msgs/s | 1,000 msgs/s | 0.90 | ≥ 0.8 | met | 1.00 s / 1.00 MiB (1 run) | 1.00 s / 1.00 MiB (1 run) | 400 msgs/s | 2.25 | 1.00 s / 1.00 MiB (2 runs) | Socket.IO errors: timeout: 2 |');
  // A row Socket.IO does not run gets dashes.
  expect(tableLine(row, side('sy', 900), undefined, true, undefined)).toContain('| — | — | — |');
});

test("'under' judges Switchyard's figure against an absolute bound; 'info' shows the ratio and judges nothing", () => {
  const time: RowSpec = { label: 'detect', figure: 'msgsPerSec', goal: 'under', target: 4000, unit: 'ms' };
  expect(tableLine(time, side('sy', 3200), undefined)).toBe('| detect | 3,200 ms | — | — | ≤ 4,000 ms | pass | 1.00 s / 1.00 MiB (1 run) | — |  |');
  expect(tableLine(time, side('sy', 4100), undefined)).toContain('| ≤ 4,000 ms | fail |');
  const failed: SideRuns = { label: 'sy', outcomes: [outcome(100, { lost: 1 })], failures: [] };
  expect(tableLine(time, failed, undefined)).toContain('| fail |');
  const info: RowSpec = { label: 'cpu', figure: 'msgsPerSec', goal: 'info', target: 0, unit: 'µs' };
  expect(tableLine(info, side('sy', 30), side('ws', 20))).toBe('| cpu | 30.0 µs | 20.0 µs | 1.50 | — | reported | 1.00 s / 1.00 MiB (1 run) | 1.00 s / 1.00 MiB (1 run) |  |');
});
