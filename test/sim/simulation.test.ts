// The deterministic simulation (src/sim/) as CI runs it: 500 seeded schedules of faults over
// real OmsNodes pass against the reference model; a seed replays exactly; and bugs planted in
// the simulated log are found and shrunk to a short schedule, so a pass means something.
import { expect, test } from "bun:test";
import { runCampaign } from "../../src/sim/campaign.ts";
import { generateSchedule } from "../../src/sim/schedule.ts";
import { failureKind, shrink } from "../../src/sim/shrink.ts";
import { NO_LOG_BUGS, type LogBugs } from "../../src/sim/sim-log.ts";
import { runSchedule } from "../../src/sim/simulation.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import type { Venue } from "../../src/venue/venue.ts";

const CI_SEEDS = 500;
const STEPS = 60;
/** A shrunk schedule is short enough to read: the opening (9 steps) is usually dropped too. */
const SHRUNK_STEPS_MAX = 12;

test(`${CI_SEEDS} seeds of crashes, log faults, pauses, partitions and takeovers lose no acknowledged command and never diverge`, async () => {
  const summary = await runCampaign({ firstSeed: 1, seeds: CI_SEEDS, steps: STEPS, shrinkFirst: 1 });
  const shrunk = summary.shrunk.map(({ seed, result }) => `seed ${seed}: ${result.failure}`);
  expect(shrunk).toEqual([]);
  expect(summary.failedSeeds).toEqual([]);
  expect(summary.lost).toBe(0);
  expect(summary.divergences).toBe(0);
  // The runs must exercise something: faults struck, nodes recovered, acked orders were checked.
  expect(summary.faultsInjected).toBeGreaterThan(CI_SEEDS * 5);
  expect(summary.recoveries).toBeGreaterThan(CI_SEEDS * 2);
  expect(summary.ackedOrdersChecked).toBeGreaterThan(CI_SEEDS * 2);
}, 120_000);

test("a seed replays exactly: the same schedule, the same events, the same result", async () => {
  for (const seed of [7, 4242]) {
    const steps = generateSchedule(seed, STEPS);
    expect(generateSchedule(seed, STEPS)).toEqual(steps);
    const first = await runSchedule({ seed, steps });
    const second = await runSchedule({ seed, steps });
    expect(second).toEqual(first);
    expect(first.events).toBeGreaterThan(100);
  }
});

async function findAndShrink(bugs: LogBugs = NO_LOG_BUGS): Promise<{ failure: string; shrunkTo: number; replayed: string | null }> {
  for (let seed = 1; seed <= 200; seed += 1) {
    const steps = generateSchedule(seed, STEPS);
    const result = await runSchedule({ seed, steps, bugs });
    if (result.failure === null) continue;
    const shrunk = await shrink({ seed, steps, bugs }, result.failure);
    const replayed = await runSchedule({ seed, steps: shrunk.steps, bugs });
    return { failure: shrunk.failure, shrunkTo: shrunk.steps.length, replayed: replayed.failure };
  }
  throw new Error("no seed of 200 found the planted bug");
}

test("a log that loses its last acknowledged record in a crash is caught as a lost ack and shrunk", async () => {
  const found = await findAndShrink({ ...NO_LOG_BUGS, dropLastOnCrash: true });
  expect(failureKind(found.failure)).toBe("lost");
  expect(found.shrunkTo).toBeLessThanOrEqual(SHRUNK_STEPS_MAX);
  expect(found.replayed).toBe(found.failure);
});

test("a log that acknowledges before the record is durable is caught (the venue told first, or an ack lost) and shrunk", async () => {
  const found = await findAndShrink({ ...NO_LOG_BUGS, ackBeforeDurable: true });
  expect(["venue before the log", "lost"]).toContain(failureKind(found.failure));
  expect(found.shrunkTo).toBeLessThanOrEqual(SHRUNK_STEPS_MAX);
  expect(found.replayed).toBe(found.failure);
});

test("a node that submits its open orders again when it restarts (instead of reconciling them) is caught and shrunk", async () => {
  // The bug is planted in the node itself: its venue reconciliation also resubmits every order.
  const prototype = OmsNode.prototype as unknown as { reconcileVenue(this: { options: { venue: Venue } }): void };
  const reconcileVenue = prototype.reconcileVenue;
  prototype.reconcileVenue = function () {
    const venue = this.options.venue;
    const reconcile = venue.reconcile;
    venue.reconcile = (open) => {
      reconcile.call(venue, open);
      for (const order of open) venue.submit(order);
    };
    try {
      reconcileVenue.call(this);
    } finally {
      venue.reconcile = reconcile;
    }
  };
  try {
    const found = await findAndShrink();
    expect(failureKind(found.failure)).toBe("venue twice");
    expect(found.shrunkTo).toBeLessThanOrEqual(SHRUNK_STEPS_MAX);
    expect(found.replayed).toBe(found.failure);
  } finally {
    prototype.reconcileVenue = reconcileVenue;
  }
});
