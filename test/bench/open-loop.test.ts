// The open-loop runner's bookkeeping under both pacings: every request of the run is sent once,
// in schedule order, and each acknowledged one is counted and timed (timing is not asserted:
// the machine's speed is the benchmarks' business).
import { describe, expect, test } from "bun:test";
import { runOpenLoop } from "../../bench/lib/open-loop.ts";

describe.each(["poll", "ticker"] as const)("runOpenLoop, %s pacing", (pacing) => {
  test("sends each index once, in order, at about the rate asked, and times every answer", async () => {
    const indexes: number[] = [];
    const result = await runOpenLoop({
      ratePerSec: 2_000,
      warmupMs: 100,
      durationMs: 400,
      pacing,
      send: (index) => {
        indexes.push(index);
        return Promise.resolve();
      },
    });
    expect(indexes).toEqual(indexes.map((_, i) => i));
    // 500 ms at 2,000/s; the schedule is fixed, so only the last few may miss the end.
    expect(indexes.length).toBeGreaterThan(900);
    expect(indexes.length).toBeLessThanOrEqual(1_000);
    expect(result.errors).toBe(0);
    expect(result.overloaded).toBe(false);
    expect(result.latency.count).toBeGreaterThan(700);
    expect(result.latency.count).toBeLessThanOrEqual(800);
  }, 10_000);

  test("counts failed sends as errors and stops, overloaded, at the bound on requests in flight", async () => {
    const failing = await runOpenLoop({ ratePerSec: 1_000, warmupMs: 1, durationMs: 100, pacing, send: () => Promise.reject(new Error("refused")) });
    expect(failing.errors).toBeGreaterThan(0);
    expect(failing.latency.count).toBe(0);
    const stuck = await runOpenLoop({ ratePerSec: 1_000, warmupMs: 1, durationMs: 5_000, inFlightMax: 20, pacing, send: () => new Promise<void>((resolve) => setTimeout(resolve, 200)) });
    expect(stuck.overloaded).toBe(true);
  }, 10_000);

  test("an overloaded run's achieved rate is over the time it ran, not over the whole window", async () => {
    // The first 300 answers come at once, then every answer takes 200 ms: the runner reaches
    // its bound of 20 in flight after ~320 ms of a 5 s window, having had ~300 answers.
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 1,
      durationMs: 5_000,
      inFlightMax: 20,
      pacing,
      send: (index) => (index < 300 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, 200))),
    });
    expect(result.overloaded).toBe(true);
    // ~1,000/s while it ran (less on a slow machine that stops later); over the whole 5 s
    // window it would read ~60/s.
    expect(result.achievedPerSec).toBeGreaterThan(200);
    expect(result.achievedPerSec).toBeLessThan(2_000);
    // Stopped with the bound in flight, each of which was answered after the stop.
    expect(result.whole.inFlightAtStop).toBe(20);
    expect(result.whole.answeredAfterStop).toBe(20);
    expect(result.whole.answeredWhileSending).toBe(result.whole.sent - 20);
  }, 10_000);

  test("a run stopped at its bound in the warm-up still accounts for every request it sent", async () => {
    // Every answer takes 200 ms: the bound of 20 in flight is reached ~20 ms into a 2 s warm-up,
    // so the measured window never opens; what was sent, answered and failed is still told.
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 2_000,
      durationMs: 1_000,
      inFlightMax: 20,
      pacing,
      send: (index) => new Promise<void>((resolve, reject) => setTimeout(() => (index % 5 === 0 ? reject(new Error("unavailable")) : resolve()), 200)),
      failureKind: (error) => (error instanceof Error ? error.message : "?"),
    });
    expect(result.overloaded).toBe(true);
    expect(result.achievedPerSec).toBe(0);
    expect(result.latency.count).toBe(0);
    const { whole } = result;
    expect(whole.warmupMs).toBe(2_000);
    expect(whole.stoppedAtMs).toBeLessThan(2_000);
    expect(whole.sent).toBe(20);
    expect(whole.answeredWhileSending).toBe(0);
    expect(whole.inFlightAtStop).toBe(20);
    // Indexes 0, 5, 10 and 15 failed; the other 16 were answered, all after the stop.
    expect(whole.failures).toEqual({ unavailable: 4 });
    expect(whole.answeredAfterStop).toBe(16);
    expect(whole.latency.count).toBe(16);
    expect(whole.drainMs).toBeGreaterThan(0);
  }, 10_000);

  test("a run that kept up answered everything while sending and left nothing to drain but its last sends", async () => {
    const result = await runOpenLoop({ ratePerSec: 2_000, warmupMs: 50, durationMs: 200, pacing, send: () => Promise.resolve() });
    const { whole } = result;
    expect(whole.failures).toEqual({});
    expect(whole.answeredWhileSending + whole.answeredAfterStop).toBe(whole.sent);
    expect(whole.latency.count).toBe(whole.sent);
    expect(whole.stoppedAtMs).toBeGreaterThanOrEqual(250);
  }, 10_000);
});
