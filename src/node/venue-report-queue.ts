// Venue reports are facts that already happened at the venue: a report the node cannot log
// right now (its log is down, its lease lapsed) is kept and retried in arrival order, never
// dropped. The core ignores a report it has already applied, so a retry is harmless.
import type { Rejection } from "../core/rejection.ts";
import type { VenueReport } from "../venue/venue.ts";
import { runtimeScheduler, type Scheduler } from "./scheduler.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

/** Reports held while the log is down; past this the node is too far behind to be useful. */
export const HELD_REPORTS_MAX = 1_000_000;
const RETRY_MS = 100;

export class VenueReportQueue {
  private readonly held: VenueReport[] = [];
  private stopTimer: (() => void) | null = null;

  constructor(
    /** Why the report's shard cannot take writes now, or null. */
    private readonly refusal: (report: VenueReport) => Rejection | null,
    private readonly commit: (report: VenueReport) => void,
    private readonly scheduler: Scheduler = runtimeScheduler,
  ) {}

  push(report: VenueReport): void {
    if (this.held.length === 0 && this.refusal(report) === null) {
      this.commit(report);
      return;
    }
    if (this.held.length >= HELD_REPORTS_MAX) throw new Error(`venue reports: more than ${HELD_REPORTS_MAX} held while the log is down`);
    this.held.push(report);
    this.stopTimer ??= this.scheduler.every(RETRY_MS, timedJobFn("venue_report_retry", () => this.drain()));
  }

  get heldCount(): number {
    return this.held.length;
  }

  close(): void {
    this.stopTimer?.();
    this.stopTimer = null;
  }

  private drain(): void {
    while (this.held.length > 0) {
      const next = this.held[0] as VenueReport;
      if (this.refusal(next) !== null) return;
      this.held.shift();
      this.commit(next);
    }
    this.close();
  }
}
