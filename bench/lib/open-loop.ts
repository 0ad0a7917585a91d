// Open-loop load at a fixed arrival rate. Each request has an intended start time on a fixed
// schedule, and its latency is measured from that time, not from when it was actually sent:
// a system that falls behind shows its queueing in the latencies instead of quietly lowering
// the rate (coordinated omission).
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";

export interface OpenLoopOptions {
  ratePerSec: number;
  durationMs: number;
  /** Sent at the same rate before measuring, to warm caches and connections. */
  warmupMs: number;
  /** Sends one request; resolves when it is acknowledged, rejects if it failed. */
  send: (index: number) => Promise<void>;
  /** A bound on requests in flight: past it the run is overloaded and stops early. */
  inFlightMax?: number;
}

export interface OpenLoopResult {
  ratePerSec: number;
  /** Requests acknowledged per second over the measured window. */
  achievedPerSec: number;
  latency: LatencySummary;
  errors: number;
  /** True when requests in flight reached inFlightMax: the system could not keep up. */
  overloaded: boolean;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const histogram = new LatencyHistogram();
  const inFlightMax = options.inFlightMax ?? 50_000;
  const intervalMs = 1000 / options.ratePerSec;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let overloaded = false;
  let completedInWindow = 0;
  const pending = new Set<Promise<void>>();
  while (!overloaded) {
    const now = performance.now();
    if (now >= end) break;
    // Every request whose intended time has come is sent now, each timed from its intended time.
    const due = Math.floor((now - start) / intervalMs) + 1;
    while (sent < due && !overloaded) {
      const intended = start + sent * intervalMs;
      const measured = intended >= measureFrom;
      const index = sent++;
      inFlight += 1;
      if (inFlight >= inFlightMax) overloaded = true;
      const request = options.send(index).then(
        () => {
          const done = performance.now();
          if (measured) {
            histogram.recordMs(done - intended);
            if (done <= end) completedInWindow += 1;
          }
        },
        () => {
          if (measured) errors += 1;
        },
      );
      const tracked = request.finally(() => {
        inFlight -= 1;
        pending.delete(tracked);
      });
      pending.add(tracked);
    }
    // Timers sleep at least ~1 ms here, so a next send further away than that is slept
    // towards; a nearer one is waited for by yielding (setImmediate), which keeps the schedule
    // to within microseconds at the cost of keeping one core busy at high rates.
    const untilNextMs = start + sent * intervalMs - performance.now();
    if (untilNextMs > 1.5) await new Promise((resolve) => setTimeout(resolve, untilNextMs - 1.2));
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  return {
    ratePerSec: options.ratePerSec,
    achievedPerSec: Math.round(completedInWindow / (options.durationMs / 1000)),
    latency: histogram.summary(),
    errors,
    overloaded,
  };
}
