// A LoadClock whose time moves only when everything runnable has run: a timer (a sleep, a
// ticker's tick, a send's simulated answer) fires at its own time, in order, and the promise
// chains it starts settle before the clock moves on to the next. A run then does the same
// thing, at the same virtual times, however busy the machine is.
import type { LoadClock } from "../../bench/lib/open-loop.ts";
import { TICK_LEAD_MS, TICK_QUANTUM_MS, type SendSchedule } from "../../bench/lib/send-ticker.ts";
import { nextTickMs } from "../../bench/lib/send-ticker-schedule.ts";

interface Timer {
  atMs: number;
  /** Timers due at the same time fire in the order they were set. */
  order: number;
  fire: () => void;
}

export class VirtualLoadClock implements LoadClock {
  private nowMs = 0;
  private readonly timers: Timer[] = [];
  private timersSet = 0;
  private pumpScheduled = false;
  /** Ticks the ticker gave, for tests of the ticker itself. */
  readonly ticks: number[] = [];

  now(): number {
    return this.nowMs;
  }

  /** Moves time at once, as a runner thread busy for ms (a GC pause, a slow send) finds it. */
  advance(ms: number): void {
    this.nowMs += ms;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.nowMs + Math.max(0, ms), resolve));
  }

  /** The same rule as the worker thread's (nextTickMs), on virtual time. */
  startTicker(schedule: SendSchedule, onTick: () => void): { stop(): void } {
    const plan = { ...schedule, quantumMs: TICK_QUANTUM_MS, leadMs: TICK_LEAD_MS };
    let stopped = false;
    let lastTickMs = -Infinity;
    const tick = () => {
      if (stopped) return;
      lastTickMs = this.nowMs;
      this.ticks.push(lastTickMs);
      onTick();
      if (lastTickMs < plan.endMs) this.at(Math.max(this.nowMs, nextTickMs(plan, lastTickMs)), tick);
    };
    this.at(Math.max(this.nowMs, nextTickMs(plan, lastTickMs)), tick);
    return { stop: () => void (stopped = true) };
  }

  private at(atMs: number, fire: () => void): void {
    this.timers.push({ atMs, order: this.timersSet++, fire });
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // setImmediate runs after every pending promise reaction: what the last timer started has
    // gone as far as it can without time moving.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.fireNext();
    });
  }

  private fireNext(): void {
    if (this.timers.length === 0) return;
    let next = 0;
    for (let i = 1; i < this.timers.length; i++) {
      const timer = this.timers[i]!;
      const best = this.timers[next]!;
      if (timer.atMs < best.atMs || (timer.atMs === best.atMs && timer.order < best.order)) next = i;
    }
    const [timer] = this.timers.splice(next, 1);
    this.nowMs = Math.max(this.nowMs, timer!.atMs);
    timer!.fire();
    if (this.timers.length > 0) this.schedulePump();
  }
}
