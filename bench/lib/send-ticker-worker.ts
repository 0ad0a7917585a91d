// The sleeping half of SendTicker (send-ticker.ts), on a thread of its own: it blocks in
// Atomics.wait, which sleeps in the kernel with sub-millisecond precision (Bun's timers round
// up to ~1 ms), and posts a tick to the load generator's thread when sends are due.
import { nextTickMs, type TickPlan } from "./send-ticker-schedule.ts";

declare const self: Worker;

export interface TickerPlan extends TickPlan {
  /** Shared with the load generator: index 0 turns 1 when it wants the ticker to stop. */
  stop: SharedArrayBuffer;
}

/** Wall-clock milliseconds (performance.timeOrigin + performance.now()): each thread has its own origin, so plans are in these. */
const epochNow = (): number => performance.timeOrigin + performance.now();

self.onmessage = (event: MessageEvent<TickerPlan>) => {
  const plan = event.data;
  const stop = new Int32Array(plan.stop);
  let lastTickMs = -Infinity;
  for (;;) {
    const now = epochNow();
    if (Atomics.load(stop, 0) !== 0) return;
    if (now >= plan.endMs) {
      self.postMessage(0);
      return;
    }
    const wakeMs = nextTickMs(plan, lastTickMs);
    if (wakeMs > now) Atomics.wait(stop, 0, 0, wakeMs - now);
    if (Atomics.load(stop, 0) !== 0) return;
    lastTickMs = epochNow();
    self.postMessage(0);
  }
};
