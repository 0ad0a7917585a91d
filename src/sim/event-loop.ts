// The simulation's only clock and only source of "later": a queue of events ordered by
// simulated time, then by when they were scheduled. Every timer, network hop and disk write
// of the simulated world is an event here, so one seed gives one order of everything.
import type { Scheduler } from "../node/scheduler.ts";

/** Who an event belongs to: a node incarnation dies or pauses with its events; "world" never does. */
export type Owner = string;
export const WORLD: Owner = "world";

interface SimEvent {
  atMs: number;
  seq: number;
  owner: Owner;
  run: () => void;
  canceled: boolean;
}

/** A run that schedules more than this many events is a livelock in the harness or the node. */
export const EVENTS_PER_RUN_MAX = 2_000_000;

export class EventLoop {
  nowMs = 0;
  eventsRun = 0;
  private readonly heap: SimEvent[] = [];
  private seq = 0;
  private readonly dead = new Set<Owner>();
  private readonly pausedUntil = new Map<Owner, number>();

  at(atMs: number, owner: Owner, run: () => void): SimEvent {
    const event: SimEvent = { atMs: Math.max(atMs, this.nowMs), seq: this.seq++, owner, run, canceled: false };
    this.push(event);
    return event;
  }

  after(ms: number, owner: Owner, run: () => void): SimEvent {
    return this.at(this.nowMs + ms, owner, run);
  }

  /** The owner's pending and future events never run: a crashed process. */
  kill(owner: Owner): void {
    this.dead.add(owner);
  }

  isAlive(owner: Owner): boolean {
    return !this.dead.has(owner);
  }

  /** The owner's events wait until untilMs: a stopped-the-world pause, a stalled VM. */
  pause(owner: Owner, untilMs: number): void {
    this.pausedUntil.set(owner, Math.max(untilMs, this.pausedUntil.get(owner) ?? 0));
  }

  isPaused(owner: Owner): boolean {
    return (this.pausedUntil.get(owner) ?? 0) > this.nowMs;
  }

  /** The node's view of time and timers, all of them events of this owner. */
  schedulerFor(owner: Owner): Scheduler {
    return {
      now: () => this.nowMs,
      after: (ms, fn) => {
        const event = this.after(ms, owner, fn);
        return () => void (event.canceled = true);
      },
      every: (ms, fn) => {
        let event: SimEvent;
        const tick = () => {
          event = this.after(ms, owner, tick);
          fn();
        };
        event = this.after(ms, owner, tick);
        return () => void (event.canceled = true);
      },
      yieldSlice: () => new Promise<void>((resolve) => void this.after(0, owner, resolve)),
    };
  }

  /**
   * Runs events up to untilMs. After each one, every promise continuation it caused runs
   * (setImmediate comes after the microtask queue drains); then afterEach, which may throw to
   * end the run.
   */
  async runUntil(untilMs: number, afterEach: () => void = () => {}): Promise<void> {
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.pop();
      if (next.canceled || this.dead.has(next.owner)) continue;
      const pausedUntil = this.pausedUntil.get(next.owner) ?? 0;
      if (pausedUntil > next.atMs) {
        // It keeps its place among the owner's events: a paused process still receives its
        // messages in the order they arrived, however often the pause is extended.
        next.atMs = pausedUntil;
        this.push(next);
        continue;
      }
      this.nowMs = next.atMs;
      if (++this.eventsRun > EVENTS_PER_RUN_MAX) throw new Error(`simulation: more than ${EVENTS_PER_RUN_MAX} events`);
      next.run();
      await drainMicrotasks();
      afterEach();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(event, heap[parent] as SimEvent)) break;
      heap[index] = heap[parent] as SimEvent;
      index = parent;
    }
    heap[index] = event;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as SimEvent;
    if (heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && earlier(heap[right] as SimEvent, heap[left] as SimEvent) ? right : left;
      if (!earlier(heap[child] as SimEvent, last)) break;
      heap[index] = heap[child] as SimEvent;
      index = child;
    }
    heap[index] = last;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
