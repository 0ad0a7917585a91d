// Schedules the simulation found that failed, kept as they shrank: each must pass from now on.
import { expect, test } from "bun:test";
import type { Step } from "../../src/sim/schedule.ts";
import { runSchedule } from "../../src/sim/simulation.ts";

test("a node paused past its lease does not tell the venue of an order once it wakes: the new owner reconciled it already", async () => {
  // Seed 1067, shrunk: a's record of o1 is durable, then a is paused before it hears so; b
  // claims the shard, replays o1 and reconciles it with the venue; a wakes, learns the record
  // is durable and (before the fix) submitted o1 to the venue a second time.
  const steps: Step[] = [
    { afterMs: 0, kind: "start", node: "a" },
    { afterMs: 53, kind: "create", account: 1 },
    { afterMs: 3, kind: "deposit", account: 1 },
    { afterMs: 113, kind: "order", account: 1, side: "buy", symbol: 1, qty: 9, priceTicks: 1, toStale: false },
    { afterMs: 2, kind: "pause", forMs: 2294 },
    { afterMs: 1087, kind: "start", node: "b" },
    { afterMs: 1539, kind: "order", account: 1, side: "buy", symbol: 0, qty: 8, priceTicks: -5, toStale: false },
  ];
  const result = await runSchedule({ seed: 1067, steps });
  expect(result.failure).toBeNull();
  expect(result.recoveries).toBeGreaterThanOrEqual(2);
});
