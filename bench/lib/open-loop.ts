// Open-loop load at a fixed arrival rate. Each request has an intended start time on a fixed
// schedule, and its latency is measured from that time, not from when it was actually sent:
// a system that falls behind shows its queueing in the latencies instead of quietly lowering
// the rate (coordinated omission). A request sent late by the runner itself counts the same way.
// The ticker sends a request up to TICK_LEAD_MS early instead of late when it can; such a
// request is timed from when it was sent, so that no request is ever timed from a later start
// than its real one.
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";
import { SendTicker, TICK_LEAD_MS, type SendSchedule } from "./send-ticker.ts";

/**
 * The runner's time: real for benchmarks; a test passes a virtual one and decides when time
 * moves, so that what it asserts does not depend on how busy the machine is.
 */
export interface LoadClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Waits towards now() + ms for the poll pacing (the loop then looks at the clock again). */
  sleep(ms: number): Promise<void>;
  /** Calls onTick when sends fall due (send-ticker-schedule.ts), until endMs and once at it. */
  startTicker(schedule: SendSchedule, onTick: () => void): { stop(): void };
}

export const REAL_LOAD_CLOCK: LoadClock = {
  now: () => performance.now(),
  // Timers sleep at least ~1 ms here, so a next send further away than that is slept towards;
  // a nearer one is waited for by yielding (setImmediate), which keeps the schedule to within
  // microseconds at the cost of keeping one core busy at high rates.
  sleep: (ms) => new Promise((resolve) => (ms > 1.5 ? setTimeout(resolve, ms - 1.2) : setImmediate(resolve))),
  startTicker: (schedule, onTick) => new SendTicker(schedule, onTick),
};

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
  /** Names what kind of failure a rejected send was ("timed out", "refused", …); "failed" if not given. */
  failureKind?: (error: unknown) => string;
  /** REAL_LOAD_CLOCK unless a test drives time itself. */
  clock?: LoadClock;
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
  /**
   * The measured window's failed sends by kind, each kind timed like answers (from the intended
   * start to the failure): under overload, how fast a refusal comes back and with what.
   */
  failed: Record<string, LatencySummary>;
  /** True when requests in flight reached inFlightMax: the system could not keep up. */
  overloaded: boolean;
  /** The whole run, warm-up and drain included: what tells a queue from a collapse. */
  whole: WholeRun;
}

/**
 * Everything the run sent, from its start to the last answer: for a run that stopped at the
 * bound (maybe in the warm-up, where the measured window never opened) what the system still
 * did, and what became of the requests it held when the runner stopped sending.
 */
export interface WholeRun {
  warmupMs: number;
  sent: number;
  /** When the runner stopped sending, in ms from its start: warmupMs + durationMs, or earlier at the bound. */
  stoppedAtMs: number;
  /** Answered successfully before the runner stopped sending. */
  answeredWhileSending: number;
  /** Requests in flight when the runner stopped sending (inFlightMax, for a run that reached it). */
  inFlightAtStop: number;
  /** Of those, the ones answered successfully afterwards (the rest failed). */
  answeredAfterStop: number;
  /** From the stop until the last request in flight settled. */
  drainMs: number;
  /** Failed sends by kind (OpenLoopOptions.failureKind), warm-up and drain included. */
  failures: Record<string, number>;
  /** Latency of every request answered successfully, warm-up and drain included. */
  latency: LatencySummary;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const run = new OpenLoopRun(options);
  await (options.pacing === "poll" ? run.paceByPolling() : run.paceByTicker());
  run.stopSending();
  await Promise.all(run.pending);
  return {
    ratePerSec: options.ratePerSec,
    achievedPerSec: run.achievedPerSec(),
    latency: run.histogram.summary(),
    errors: run.errors,
    failed: Object.fromEntries([...run.failedInWindow].map(([kind, histogram]) => [kind, histogram.summary()])),
    overloaded: run.overloaded,
    whole: run.wholeRun(),
  };
}

class OpenLoopRun {
  readonly histogram = new LatencyHistogram();
  readonly failedInWindow = new Map<string, LatencyHistogram>();
  /** Every answered request, the warm-up's and the drain's too. */
  private readonly wholeHistogram = new LatencyHistogram();
  readonly pending = new Set<Promise<void>>();
  private readonly inFlightMax: number;
  private readonly intervalMs: number;
  private readonly clock: LoadClock;
  private readonly start: number;
  private readonly measureFrom: number;
  private readonly end: number;
  /** Requests in the schedule: one every intervalMs over warm-up and window. */
  private readonly sendsMax: number;
  private sent = 0;
  private inFlight = 0;
  errors = 0;
  overloaded = false;
  /** When the bound on requests in flight was reached and the runner stopped sending. */
  private overloadedAtMs: number | null = null;
  private completedInWindow = 0;
  /** Set when the runner has stopped sending (clock time). */
  private stoppedAt: number | null = null;
  private inFlightAtStop = 0;
  private answeredWhileSending = 0;
  private answeredAfterStop = 0;
  private lastSettledAt = 0;
  private readonly failures: Record<string, number> = {};

  constructor(private readonly options: OpenLoopOptions) {
    this.clock = options.clock ?? REAL_LOAD_CLOCK;
    this.start = this.clock.now();
    this.inFlightMax = options.inFlightMax ?? 50_000;
    this.intervalMs = 1000 / options.ratePerSec;
    this.measureFrom = this.start + options.warmupMs;
    this.end = this.measureFrom + options.durationMs;
    // From the times given, not from end − start: clock values are large enough that
    // the difference can come out a hair over (start + 100 + 400 − start > 500), one send too many.
    this.sendsMax = Math.ceil(((options.warmupMs + options.durationMs) * options.ratePerSec) / 1000 - 1e-9);
  }

  /** Answers per second in the measured window, up to where an overloaded run stopped. */
  achievedPerSec(): number {
    const windowEnd = Math.min(this.end, Math.max(this.measureFrom, this.overloadedAtMs ?? this.end));
    const windowMs = windowEnd - this.measureFrom;
    return windowMs <= 0 ? 0 : Math.round(this.completedInWindow / (windowMs / 1000));
  }

  /** At the end of the run's time, or when the bound is reached (the first call counts). */
  stopSending(now = this.clock.now()): void {
    if (this.stoppedAt !== null) return;
    this.stoppedAt = now;
    this.inFlightAtStop = this.inFlight;
  }

  wholeRun(): WholeRun {
    const stoppedAt = this.stoppedAt ?? this.clock.now();
    return {
      warmupMs: this.options.warmupMs,
      sent: this.sent,
      stoppedAtMs: Math.round(stoppedAt - this.start),
      answeredWhileSending: this.answeredWhileSending,
      inFlightAtStop: this.inFlightAtStop,
      answeredAfterStop: this.answeredAfterStop,
      drainMs: this.inFlightAtStop === 0 ? 0 : Math.round(Math.max(0, this.lastSettledAt - stoppedAt)),
      failures: { ...this.failures },
      latency: this.wholeHistogram.summary(),
    };
  }

  async paceByPolling(): Promise<void> {
    while (!this.overloaded && this.clock.now() < this.end) {
      this.sendDue(0);
      await this.clock.sleep(this.start + this.sent * this.intervalMs - this.clock.now());
    }
  }

  /** Sends at each tick, and after each answer too: at high rates answers come between ticks. */
  paceByTicker(): Promise<void> {
    const { promise: finished, resolve } = Promise.withResolvers<void>();
    const ticker = this.clock.startTicker({ startMs: this.start, endMs: this.end, intervalMs: this.intervalMs }, () => {
      if (this.overloaded || this.clock.now() >= this.end) {
        ticker.stop();
        resolve();
        return;
      }
      this.sendDue(TICK_LEAD_MS);
    });
    this.afterAnswer = () => {
      if (!this.overloaded && this.clock.now() < this.end) this.sendDue(TICK_LEAD_MS);
    };
    return finished;
  }

  private afterAnswer: () => void = () => undefined;

  /** Sends every request whose intended time comes within leadMs from now. */
  private sendDue(leadMs: number): void {
    const now = this.clock.now();
    const due = Math.min(Math.floor((now + leadMs - this.start) / this.intervalMs) + 1, this.sendsMax);
    while (this.sent < due && !this.overloaded) this.sendOne(now);
  }

  /** A request is out of flight before anything else happens on its answer (afterAnswer may send). */
  private settled(): number {
    this.inFlight -= 1;
    this.lastSettledAt = this.clock.now();
    return this.lastSettledAt;
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
      this.stopSending(now);
    }
    const request = this.options.send(index).then(
      () => {
        const done = this.settled();
        this.wholeHistogram.recordMs(done - timedFrom);
        if (this.stoppedAt === null) this.answeredWhileSending += 1;
        else this.answeredAfterStop += 1;
        if (measured) {
          this.histogram.recordMs(done - timedFrom);
          if (done <= (this.overloadedAtMs ?? this.end)) this.completedInWindow += 1;
        }
        this.afterAnswer();
      },
      (error: unknown) => {
        const done = this.settled();
        const kind = this.options.failureKind?.(error) ?? "failed";
        this.failures[kind] = (this.failures[kind] ?? 0) + 1;
        if (measured) {
          this.errors += 1;
          let histogram = this.failedInWindow.get(kind);
          if (histogram === undefined) {
            histogram = new LatencyHistogram();
            this.failedInWindow.set(kind, histogram);
          }
          histogram.recordMs(done - timedFrom);
        }
      },
    );
    const tracked = request.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
