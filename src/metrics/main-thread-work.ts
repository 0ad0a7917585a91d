// Work a process does on its main thread besides answering calls: periodic jobs (lease
// renewals, health checks, key-ring polls, ack deadlines, retries), slices of long tasks
// (snapshots) and scrapes. Every order that arrives while one runs waits for it, so each is
// timed, by job, into oms_main_thread_work_seconds: its p99 and max say what the event loop
// owes to it. The timing covers the synchronous part, which is what holds the thread; what a
// job awaits runs on other threads (SQLite writers, the network).
import { HotHistogram, STAGE_SECONDS_BOUNDS } from "./hot-histogram.ts";

/**
 * The bound on one piece of main-thread work while orders may be waiting: 0.2 ms, an eighth of
 * the 1.5 ms an order's p99 may take. Long tasks (a snapshot's encoding, a count of open
 * orders, a scrape) go in slices of about this long, each timed as a run of its job, and let
 * the event loop turn between them.
 */
export const MAIN_THREAD_SLICE_MS = 0.2;

/** The jobs, a bounded set: a label value per job. */
export type MainThreadJob =
  | "snapshot_slice"
  | "lease_renewal"
  | "ack_deadlines"
  | "held_effects_retry"
  | "venue_report_retry"
  | "venue_tick"
  | "venue_session"
  | "health_check"
  | "key_ring_poll"
  | "metrics_scrape"
  | "open_order_count"
  | "archive";

export const MAIN_THREAD_WORK_FAMILY = "oms_main_thread_work_seconds";

export const mainThreadWorkSeconds = new HotHistogram(
  MAIN_THREAD_WORK_FAMILY,
  "Work on the process's main thread other than calls (periodic jobs, slices of long tasks, scrapes), by job: each run's synchronous duration.",
  STAGE_SECONDS_BOUNDS,
  "job",
);

/** One run of job that took this long, timed by its caller (a slice of a long task). */
export function observeJob(job: MainThreadJob, seconds: number): void {
  mainThreadWorkSeconds.cell(job).observe(seconds);
}

/** Runs fn now, timing it as one run of job; returns what fn returns. */
export function timedJob<T>(job: MainThreadJob, fn: () => T): T {
  const started = performance.now();
  try {
    return fn();
  } finally {
    observeJob(job, (performance.now() - started) / 1000);
  }
}

/** fn wrapped so that each call is timed as a run of job (for timers). */
export function timedJobFn(job: MainThreadJob, fn: () => void): () => void {
  return () => timedJob(job, fn);
}
