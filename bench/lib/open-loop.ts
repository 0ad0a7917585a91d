// Open-loop load at a fixed arrival rate. Each request has an intended start time on a fixed
// schedule, and its latency is measured from that time, not from when it was actually sent:
// a system that falls behind shows its queueing in the latencies instead of quietly lowering
// the rate (coordinated omission). A request sent late by the runner itself counts the same way.
// The ticker sends a request up to TICK_LEAD_MS early instead of late when it can; such a
// request is timed from when it was sent, so that no request is ever timed from a later start
// than its real one.
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";
import { SendTicker, TICK_LEAD_MS } from "./send-ticker.ts";

export interface OpenLoopOptions {
  ratePerSec: number;
  durationMs: number;
  /** Sent at the same rate before measuring, to warm caches and connections. */
  warmupMs: number;
  /** Sends one request; resolves when it is acknowledged, rejects if it failed. */
  send: (index: number) => Promise<void>;
  /** A bound on requests in flight: past it the run is overloaded and stops early. */
  inFlightMax?: number;
  /**
   * How the runner waits for its next send. "ticker" (the default) sleeps on a worker thread
   * (send-ticker.ts) and sends what is due at each tick: requests go out within ~0.2 ms of
   * their time (late ones timed from their intended start, early ones from their real one),
   * for a load generator that shares its two cores with the system it measures. "poll" yields
   * with setImmediate and keeps to the schedule within microseconds, at the cost of one busy
   * core that the system measured then lacks.
   */
  pacing?: "poll" | "ticker";
}

export interface OpenLoopResult {
  ratePerSec: number;
  /**
   * Requests acknowledged per second over the measured window; for an overloaded run, over the
   * part of the window before the runner stopped (not over the whole window it never ran).
   */
  achievedPerSec: number;
  latency: LatencySummary;
  errors: number;
  /** True when requests in flight reached inFlightMax: the system could not keep up. */
  overloaded: boolean;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const run = new OpenLoopRun(options);
  await (options.pacing === "poll" ? run.paceByPolling() : run.paceByTicker());
  await Promise.all(run.pending);
  return {
    ratePerSec: options.ratePerSec,
    achievedPerSec: run.achievedPerSec(),
    latency: run.histogram.summary(),
    errors: run.errors,
    overloaded: run.overloaded,
  };
}

class OpenLoopRun {
  readonly histogram = new LatencyHistogram();
  readonly pending = new Set<Promise<void>>();
  private readonly inFlightMax: number;
  private readonly intervalMs: number;
  private readonly start = performance.now();
  private readonly measureFrom: number;
  private readonly end: number;
  private sent = 0;
  private inFlight = 0;
  errors = 0;
  overloaded = false;
  /** When the bound on requests in flight was reached and the runner stopped sending. */
  private overloadedAtMs: number | null = null;
  private completedInWindow = 0;

  constructor(private readonly options: OpenLoopOptions) {
    this.inFlightMax = options.inFlightMax ?? 50_000;
    this.intervalMs = 1000 / options.ratePerSec;
    this.measureFrom = this.start + options.warmupMs;
    this.end = this.measureFrom + options.durationMs;
  }

  /** Answers per second in the measured window, up to where an overloaded run stopped. */
  achievedPerSec(): number {
    const windowEnd = Math.min(this.end, Math.max(this.measureFrom, this.overloadedAtMs ?? this.end));
    const windowMs = windowEnd - this.measureFrom;
    return windowMs <= 0 ? 0 : Math.round(this.completedInWindow / (windowMs / 1000));
  }

  async paceByPolling(): Promise<void> {
    while (!this.overloaded && performance.now() < this.end) {
      this.sendDue(0);
      // Timers sleep at least ~1 ms here, so a next send further away than that is slept
      // towards; a nearer one is waited for by yielding (setImmediate), which keeps the
      // schedule to within microseconds at the cost of keeping one core busy at high rates.
      const untilNextMs = this.start + this.sent * this.intervalMs - performance.now();
      if (untilNextMs > 1.5) await new Promise((resolve) => setTimeout(resolve, untilNextMs - 1.2));
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sends at each tick, and after each answer too: at high rates answers come between ticks. */
  paceByTicker(): Promise<void> {
    const { promise: finished, resolve } = Promise.withResolvers<void>();
    const ticker = new SendTicker({ startMs: this.start, endMs: this.end, intervalMs: this.intervalMs }, () => {
      if (this.overloaded || performance.now() >= this.end) {
        ticker.stop();
        resolve();
        return;
      }
      this.sendDue(TICK_LEAD_MS);
    });
    this.afterAnswer = () => {
      if (!this.overloaded && performance.now() < this.end) this.sendDue(TICK_LEAD_MS);
    };
    return finished;
  }

  private afterAnswer: () => void = () => undefined;

  /** Sends every request whose intended time comes within leadMs from now. */
  private sendDue(leadMs: number): void {
    const now = performance.now();
    const due = Math.min(Math.floor((now + leadMs - this.start) / this.intervalMs) + 1, Math.ceil((this.end - this.start) / this.intervalMs));
    while (this.sent < due && !this.overloaded) this.sendOne(now);
  }

  private sendOne(now: number): void {
    const intended = this.start + this.sent * this.intervalMs;
    const measured = intended >= this.measureFrom;
    // Late: from the intended time (the wait was the system's or the runner's). Early: from now.
    const timedFrom = Math.min(intended, now);
    const index = this.sent++;
    this.inFlight += 1;
    if (this.inFlight >= this.inFlightMax) {
      this.overloaded = true;
      this.overloadedAtMs = now;
    }
    const request = this.options.send(index).then(
      () => {
        const done = performance.now();
        if (measured) {
          this.histogram.recordMs(done - timedFrom);
          if (done <= (this.overloadedAtMs ?? this.end)) this.completedInWindow += 1;
        }
        this.afterAnswer();
      },
      () => {
        if (measured) this.errors += 1;
      },
    );
    const tracked = request.finally(() => {
      this.inFlight -= 1;
      this.pending.delete(tracked);
    });
    this.pending.add(tracked);
  }
}
