// Commands waiting for the log to confirm their record, each answered UNAVAILABLE if the log
// takes longer than the ack timeout. Every wait has the same timeout, so deadlines fall in the
// order commands arrive, and one timer, set for the oldest unanswered wait, serves them all:
// no timer per command.
import { runtimeScheduler, type Scheduler } from "./scheduler.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

export interface AckWait {
  readonly dueAtMs: number;
  answered: boolean;
  readonly onTimeout: () => void;
}

/** Answered waits are dropped from the front once this many have gathered (and are half the queue). */
const COMPACT_AFTER_WAITS = 1024;

export class AckDeadlines {
  private waits: AckWait[] = [];
  /** Waits before this index are answered. */
  private head = 0;
  private cancelTimer: (() => void) | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly scheduler: Scheduler = runtimeScheduler,
  ) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`ack deadlines: timeoutMs must be positive, got ${timeoutMs}`);
  }

  /** onTimeout runs once, timeoutMs from now, unless answer() claims the wait first. */
  wait(onTimeout: () => void): AckWait {
    const wait: AckWait = { dueAtMs: this.scheduler.now() + this.timeoutMs, answered: false, onTimeout };
    this.waits.push(wait);
    if (this.cancelTimer === null) this.arm();
    return wait;
  }

  /** True if the caller now answers the wait; false if the deadline answered it already. */
  answer(wait: AckWait): boolean {
    if (wait.answered) return false;
    wait.answered = true;
    this.dropAnswered();
    return true;
  }

  /** Waits not yet answered. */
  get pending(): number {
    let count = 0;
    for (let i = this.head; i < this.waits.length; i++) if (!(this.waits[i] as AckWait).answered) count += 1;
    return count;
  }

  /** Answers every wait whose deadline has passed; the timer calls it, tests may too. */
  expire(): void {
    const now = this.scheduler.now();
    while (this.head < this.waits.length) {
      const wait = this.waits[this.head] as AckWait;
      if (!wait.answered) {
        if (wait.dueAtMs > now) break;
        wait.answered = true;
        wait.onTimeout();
      }
      this.head += 1;
    }
    this.dropAnswered();
  }

  /** Stops the timer; waits left are neither answered nor timed out. */
  close(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private dropAnswered(): void {
    while (this.head < this.waits.length && (this.waits[this.head] as AckWait).answered) this.head += 1;
    if (this.head === this.waits.length) {
      this.waits = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER_WAITS && this.head * 2 >= this.waits.length) {
      this.waits = this.waits.slice(this.head);
      this.head = 0;
    }
  }

  private arm(): void {
    const first = this.waits[this.head];
    if (first === undefined) return;
    this.cancelTimer = this.scheduler.after(Math.max(0, first.dueAtMs - this.scheduler.now()), timedJobFn("ack_deadlines", () => {
      this.cancelTimer = null;
      this.expire();
      this.arm();
    }));
  }
}
