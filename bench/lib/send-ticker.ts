// Wakes an open-loop load generator when its next sends are due, without keeping a core busy.
// Bun's timers fire ~1.1 ms late at best, and polling with setImmediate to do better took ~95%
// of a core at every rate: on a 2-core machine, CPU taken from the system being measured. A
// worker thread sleeps until the next intended send instead (send-ticker-worker.ts) and posts
// a tick; the load generator's thread sleeps in its event loop until then.
import type { TickerPlan } from "./send-ticker-worker.ts";

/** What the open-loop runner schedules its sends on, in its clock's milliseconds. */
export interface SendSchedule {
  startMs: number;
  endMs: number;
  intervalMs: number;
}

/**
 * Ticks at most every 0.2 ms: at high rates one tick sends a few requests together (each still
 * timed from its own intended start), so the ticker's cost (~35 µs of CPU a tick, both threads)
 * stays bounded at ~5,000 ticks/s while a send is at most ~0.2 ms late.
 */
export const TICK_QUANTUM_MS = 0.2;
/**
 * A thread woken from Atomics.wait and its message delivered take ~0.1 ms on this kind of
 * machine; the ticker wakes that much before a send is due, and the generator sends what falls
 * due within it, so that requests go out about on time rather than always late.
 */
export const TICK_LEAD_MS = 0.15;

export class SendTicker {
  private readonly worker = new Worker(new URL("./send-ticker-worker.ts", import.meta.url));
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));

  /** onTick runs on this thread at each tick until endMs (performance.now() time) and once at it. */
  constructor(schedule: SendSchedule, onTick: () => void) {
    this.worker.onmessage = onTick;
    const plan: TickerPlan = {
      stop: this.stopFlag.buffer as SharedArrayBuffer,
      startMs: performance.timeOrigin + schedule.startMs,
      endMs: performance.timeOrigin + schedule.endMs,
      intervalMs: schedule.intervalMs,
      quantumMs: TICK_QUANTUM_MS,
      leadMs: TICK_LEAD_MS,
    };
    this.worker.postMessage(plan);
  }

  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
    Atomics.notify(this.stopFlag, 0);
    this.worker.terminate();
  }
}
