// Where the node's timers and its monotonic clock come from. Production uses the runtime's; the
// deterministic simulation (sim/) passes its own, so that a seed decides when every timer fires
// and a failing run replays exactly.

export interface Scheduler {
  /** Monotonic milliseconds: for deadlines and time slices, never for what the ledger records. */
  now(): number;
  /** Runs fn once, ms from now; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Runs fn every ms; the returned function stops it. */
  every(ms: number, fn: () => void): () => void;
  /** Lets other work run between two slices of a long task (a snapshot's encoding). */
  yieldSlice(): Promise<void>;
}

export const runtimeScheduler: Scheduler = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  yieldSlice: () => new Promise((resolve) => setImmediate(resolve)),
};
