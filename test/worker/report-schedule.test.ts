import { ReportSchedule } from '../../src/worker/report-schedule';

describe('ReportSchedule', () => {
  let reports: number[];
  let schedule: ReportSchedule;
  let start: number;

  beforeEach(() => {
    jest.useFakeTimers();
    start = Date.now();
    reports = [];
    schedule = new ReportSchedule(() => reports.push(Date.now() - start), 20, 100);
  });

  afterEach(() => {
    schedule.cancel();
    jest.useRealTimers();
  });

  test('a change of clients is reported within soonMs, once for every change before it', () => {
    schedule.due(false);
    jest.advanceTimersByTime(10);
    schedule.due(false);
    schedule.due(true);
    jest.advanceTimersByTime(10);
    expect(reports).toEqual([20]);
    jest.advanceTimersByTime(500);
    expect(reports).toEqual([20]);
  });

  test('a change of the message flow alone waits lateMs: one report for a stream of them', () => {
    for (let t = 0; t < 100; t += 5) {
      schedule.due(true);
      jest.advanceTimersByTime(5);
    }
    expect(reports).toEqual([100]);
    schedule.due(true);
    jest.advanceTimersByTime(99);
    expect(reports).toEqual([100]);
    jest.advanceTimersByTime(1);
    expect(reports).toEqual([100, 200]);
  });

  test('a change of clients brings a pending late report forward', () => {
    schedule.due(true);
    jest.advanceTimersByTime(30);
    schedule.due(false);
    jest.advanceTimersByTime(20);
    expect(reports).toEqual([50]);
    jest.advanceTimersByTime(500);
    expect(reports).toEqual([50]);
  });

  test('now() reports at once and drops what was pending; cancel() drops it', () => {
    schedule.due(true);
    schedule.now();
    jest.advanceTimersByTime(500);
    expect(reports).toEqual([0]);
    schedule.due(false);
    schedule.cancel();
    jest.advanceTimersByTime(500);
    expect(reports).toEqual([0]);
  });
});
