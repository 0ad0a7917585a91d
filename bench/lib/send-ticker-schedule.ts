// When the send ticker wakes next: one rule for the worker thread that sleeps in real time
// (send-ticker-worker.ts) and for a test's virtual clock, so that a test drives the schedule
// the benchmarks run on.

export interface TickPlan {
  /** The first intended send; every later one is a whole number of intervalMs after it. */
  startMs: number;
  /** The ticker ticks once at endMs and stops. */
  endMs: number;
  intervalMs: number;
  /** Ticks come at least this far apart; every send due by a tick goes at that tick. */
  quantumMs: number;
  /** How long before a send is due the ticker wakes. */
  leadMs: number;
}

/**
 * The time of the tick after one at lastTickMs (-Infinity before the first): the next intended
 * send after what the last tick sent (everything due within leadMs of it), woken leadMs early,
 * but no sooner than a quantum after the last tick, and never after endMs.
 */
export function nextTickMs(plan: TickPlan, lastTickMs: number): number {
  const sentUpToMs = lastTickMs + plan.leadMs;
  const nextIndex = sentUpToMs < plan.startMs ? 0 : Math.floor((sentUpToMs - plan.startMs) / plan.intervalMs) + 1;
  const nextSendMs = plan.startMs + nextIndex * plan.intervalMs;
  return Math.min(plan.endMs, Math.max(nextSendMs - plan.leadMs, lastTickMs + plan.quantumMs));
}
