// Stage 6 of the commit pipeline for a shard this node may no longer own. A record can become
// durable after the node's lease lapsed (a pause, a partition): if another node has claimed
// the shard since, it replayed the record and reconciled the venue itself, or fenced it, and
// either way the venue must not hear of it from this node too. So the effects wait until the
// node knows: a renewal that keeps the lease runs them, in order; a newer claim drops them.
import type { Scheduler } from "./scheduler.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

/** How often held effects look again at the shard's ownership: a third of the simulation's lease renewal, well under production's. */
export const HELD_EFFECTS_RETRY_MS = 100;

export type Ownership = "owned" | "lapsed" | "fenced";

export class HeldEffects {
  /** Per shard, effect batches in the order their records became durable. */
  private readonly held = new Map<number, (() => void)[]>();
  private cancelRetry: (() => void) | null = null;

  constructor(
    private readonly ownership: (shard: number) => Ownership,
    private readonly scheduler: Scheduler,
    /** An effect that throws later, from the retry timer, stops the node as one run at once would. */
    private readonly die: (error: unknown) => void,
  ) {}

  /** Runs the effects now if the shard is owned and nothing is held before them; else holds or drops them. */
  run(shard: number, effects: () => void): void {
    const queue = this.held.get(shard);
    if (queue === undefined) {
      const state = this.ownership(shard);
      if (state === "owned") return effects();
      if (state === "fenced") return;
      this.held.set(shard, [effects]);
      this.armRetry();
      return;
    }
    queue.push(effects);
  }

  close(): void {
    this.cancelRetry?.();
    this.cancelRetry = null;
    this.held.clear();
  }

  private armRetry(): void {
    this.cancelRetry ??= this.scheduler.after(HELD_EFFECTS_RETRY_MS, timedJobFn("held_effects_retry", () => {
      this.cancelRetry = null;
      for (const [shard, queue] of this.held) {
        const state = this.ownership(shard);
        if (state === "lapsed") continue;
        this.held.delete(shard);
        if (state !== "owned") continue;
        try {
          for (const effects of queue) effects();
        } catch (error) {
          this.die(error);
        }
      }
      if (this.held.size > 0) this.armRetry();
    }));
  }
}
