/**
 * When a worker's status report to the master is due. A change of its clients
 * (a connect, a close, a drop) is reported within `soonMs`; a change that
 * only the message flow made (held counts, a link's waiting time) within
 * `lateMs`: while messages flow every turn makes one, and reporting them as
 * soon cost each worker and the master a few per cent of the server's CPU.
 * One timer at most; a change of clients brings a late report forward.
 */
export class ReportSchedule {
  private timer: NodeJS.Timeout | undefined;
  /** Whether the pending report waits `lateMs`. */
  private late = false;

  constructor(
    private readonly report: () => void,
    private readonly soonMs: number,
    private readonly lateMs: number,
  ) {}

  /** A report is due: within `soonMs`, or within `lateMs` where only the message flow moved (`flow`). */
  due(flow: boolean): void {
    if (this.timer !== undefined) {
      if (flow || !this.late) return;
      clearTimeout(this.timer);
    }
    this.late = flow;
    this.timer = setTimeout(this.fire, flow ? this.lateMs : this.soonMs);
  }

  /** Reports now, whatever was pending (a stop's last report). */
  now(): void {
    this.cancel();
    this.report();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.report();
  };
}
