// The sleeping half of SendTicker (send-ticker.ts), on a thread of its own: it blocks in
// Atomics.wait, which sleeps in the kernel with sub-millisecond precision (Bun's timers round
// up to ~1 ms), and posts a tick to the load generator's thread when sends are due.
declare const self: Worker;

export interface TickerPlan {
  /** Shared with the load generator: index 0 turns 1 when it wants the ticker to stop. */
  stop: SharedArrayBuffer;
  /** Wall-clock milliseconds (performance.timeOrigin + performance.now()): each thread has its own origin. */
  startEpochMs: number;
  endEpochMs: number;
  intervalMs: number;
  /** Ticks come at least this far apart; every send due by a tick goes at that tick. */
  quantumMs: number;
  /** How long before a send is due the ticker wakes. */
  leadMs: number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

self.onmessage = (event: MessageEvent<TickerPlan>) => {
  const plan = event.data;
  const stop = new Int32Array(plan.stop);
  let lastTickMs = -Infinity;
  for (;;) {
    const now = epochNow();
    if (Atomics.load(stop, 0) !== 0) return;
    if (now >= plan.endEpochMs) {
      self.postMessage(0);
      return;
    }
    // The next intended send after the last tick, but no sooner than a quantum after it.
    // The last tick sent everything due within leadMs of it; the next intended send after that,
    // woken for leadMs early, but no sooner than a quantum after the last tick.
    const sentUpToMs = lastTickMs + plan.leadMs;
    const nextIndex = sentUpToMs < plan.startEpochMs ? 0 : Math.floor((sentUpToMs - plan.startEpochMs) / plan.intervalMs) + 1;
    const nextSendMs = plan.startEpochMs + nextIndex * plan.intervalMs;
    const wakeMs = Math.min(plan.endEpochMs, Math.max(nextSendMs - plan.leadMs, lastTickMs + plan.quantumMs));
    if (wakeMs > now) Atomics.wait(stop, 0, 0, wakeMs - now);
    if (Atomics.load(stop, 0) !== 0) return;
    lastTickMs = epochNow();
    self.postMessage(0);
  }
};
