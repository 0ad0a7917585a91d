// How late the process's event loop turns: a timer asks to run every SAMPLE_EVERY_MS, and how
// much later than asked it runs is what a call arriving then waited behind whatever held the
// thread (a long task, a collector's pause). A histogram, so that its quantiles hold over any
// window (oms_event_loop_lag_seconds), and the largest lag since the last scrape
// (oms_event_loop_lag_max_seconds).
import { Gauge } from "prom-client";
import { HotHistogram, STAGE_SECONDS_BOUNDS } from "./hot-histogram.ts";

/** A sample every 10 ms: ~100 wake-ups a second, each a few µs. */
const SAMPLE_EVERY_MS = 10;

export const EVENT_LOOP_LAG_FAMILY = "oms_event_loop_lag_seconds";
export const EVENT_LOOP_LAG_MAX_GAUGE = "oms_event_loop_lag_max_seconds";

export const eventLoopLagSeconds = new HotHistogram(
  EVENT_LOOP_LAG_FAMILY,
  "How much later than asked the event loop ran a timer asked for every 10 ms: what a call arriving then waited before its turn.",
  STAGE_SECONDS_BOUNDS,
);

const cell = eventLoopLagSeconds.cell();
let maxSinceScrapeSeconds = 0;

export const eventLoopLagMaxSeconds = new Gauge({
  name: EVENT_LOOP_LAG_MAX_GAUGE,
  help: "The largest event-loop lag since the previous scrape.",
  registers: [],
  collect() {
    this.set(maxSinceScrapeSeconds);
    maxSinceScrapeSeconds = 0;
  },
});

let sampling = false;

/** Starts sampling, once per process; the timer does not keep the process alive. */
export function sampleEventLoopLag(): void {
  if (sampling) return;
  sampling = true;
  let dueMs = performance.now() + SAMPLE_EVERY_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    const lagSeconds = Math.max(0, now - dueMs) / 1000;
    cell.observe(lagSeconds);
    if (lagSeconds > maxSinceScrapeSeconds) maxSinceScrapeSeconds = lagSeconds;
    dueMs = now + SAMPLE_EVERY_MS;
  }, SAMPLE_EVERY_MS);
  timer.unref();
}
