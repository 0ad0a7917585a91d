// What the benchmarks report about a run that did not keep up: a plain queue (answers at about
// the rate sustained, the excess waiting) reads apart from a collapse, and a run stopped in its
// warm-up still says what it did.
import { expect, test } from "bun:test";
import type { LatencySummary } from "../../bench/lib/histogram.ts";
import type { OpenLoopResult, WholeRun } from "../../bench/lib/open-loop.ts";
import { admissionFigures, summarizeOverload } from "../../bench/lib/overload-summary.ts";

const LATENCY: LatencySummary = { count: 36_250, p50_us: 300_000, p99_us: 800_000, p999_us: 900_000, max_us: 950_000, mean_us: 320_000 };

function run(ratePerSec: number, whole: Partial<WholeRun>, overloaded = true): OpenLoopResult {
  return {
    ratePerSec,
    achievedPerSec: 0,
    latency: LATENCY,
    errors: 0,
    failed: {},
    overloaded,
    whole: {
      warmupMs: 1_000,
      sent: 36_250,
      stoppedAtMs: 3_000,
      answeredWhileSending: 30_000,
      inFlightAtStop: 6_250,
      answeredAfterStop: 6_250,
      drainMs: 600,
      failures: {},
      latency: LATENCY,
      ...whole,
    },
  };
}

test("answering at the rate sustained while the excess waits, nothing failed, is a plain queue", () => {
  const summary = summarizeOverload(run(12_500, {}), 10_000);
  expect(summary.pace).toBe("held");
  expect(summary.answeredPerSec).toBe(10_000);
  expect(summary.failed).toBe(0);
  expect(summary.stoppedInWarmup).toBe(false);
  expect(summary.text).toStartWith("a plain queue");
  expect(summary.text).toContain("answered 10,000/s while sending (warm-up included), 100% of the 10,000/s sustained");
  expect(summary.text).toContain("stopped at the bound of 6,250 in flight after 3.0 s; those settled in 600 ms (10,417/s), 6,250 answered");
  expect(summary.text).toContain("nothing failed");
  expect(summary.text).toContain("of 36,250 sent, the 36,250 answered took p50 300,000 µs, p99 800,000 µs, max 950,000 µs");
});

test("answering at a fraction of the rate sustained is a collapse; a stop in the warm-up and the failures are said", () => {
  const summary = summarizeOverload(
    run(15_000, { stoppedAtMs: 700, answeredWhileSending: 700, sent: 8_200, answeredAfterStop: 7_000, failures: { "no answer": 3, deadline_exceeded: 40 } }),
    10_000,
  );
  expect(summary.pace).toBe("collapsed");
  expect(summary.answeredPerSec).toBe(1_000);
  expect(summary.stoppedInWarmup).toBe(true);
  expect(summary.failed).toBe(43);
  expect(summary.text).toStartWith("it collapsed under the load");
  expect(summary.text).toContain("after 700 ms (in the 1.0 s warm-up: the measured window never opened)");
  expect(summary.text).toContain("43 failed (40 deadline_exceeded, 3 no answer)");
});

test("in between, the run slowed; at full pace with failures, it did not queue but failed requests", () => {
  expect(summarizeOverload(run(12_500, { answeredWhileSending: 22_362 }), 10_000).pace).toBe("slowed");
  const failing = summarizeOverload(run(12_500, { failures: { unavailable: 5 } }), 10_000);
  expect(failing.pace).toBe("held");
  expect(failing.text).toStartWith("it kept its pace but failed requests");
});

test("with no rate sustained, the rate asked is the reference", () => {
  const summary = summarizeOverload(run(20_000, { answeredWhileSending: 30_000 }), null);
  expect(summary.shareOfReference).toBe(0.5);
  expect(summary.text).toContain("50% of the 20,000/s asked (no rate was sustained)");
});

test("a run that fell behind without reaching the bound says what it still held at the end of its window", () => {
  const summary = summarizeOverload(run(10_000, { stoppedAtMs: 9_000, answeredWhileSending: 85_000, inFlightAtStop: 900, answeredAfterStop: 900 }, false), 7_500);
  expect(summary.stoppedInWarmup).toBe(false);
  expect(summary.text).toContain("900 still in flight at the end of the window; those settled in 600 ms (1,500/s), 900 answered");
});

test("overload rows: p99 of what was admitted, the share not admitted by code, refusals per code", () => {
  const at = (p99_us: number, count = 1_000): LatencySummary => ({ ...LATENCY, count, p99_us });
  const overloadRun = (admittedP99: number, refused: number, refusalP99: number, timedOut: number): OpenLoopResult => ({
    ...run(16_000, {}, false),
    latency: at(admittedP99, 9_000),
    errors: refused + timedOut,
    failed: { resource_exhausted: at(refusalP99, refused), ...(timedOut === 0 ? {} : { deadline_exceeded: at(1_000_000, timedOut) }) },
  });
  const figures = admissionFigures("e2e.overload", "SubmitOrder @ 16,000/s", [overloadRun(2_000, 1_000, 300, 0), overloadRun(9_000, 500, 200, 500), overloadRun(3_000, 1_000, 250, 0)]);
  expect(figures.map((f) => [f.name, f.value])).toEqual([
    ["SubmitOrder @ 16,000/s: p99 of admitted orders", 3_000],
    ["SubmitOrder @ 16,000/s: share not admitted", 10],
    ["SubmitOrder @ 16,000/s: p99 of refusals (resource_exhausted)", 250],
  ]);
  expect(figures[1]?.note).toContain("2,500 resource_exhausted");
  expect(figures[1]?.note).toContain("500 deadline_exceeded");
  const calm = admissionFigures("e2e.overload", "x", [{ ...run(16_000, {}, false), failed: {} }]);
  expect(calm.map((f) => [f.name, f.value])).toEqual([
    ["x: p99 of admitted orders", LATENCY.p99_us],
    ["x: share not admitted", 0],
    ["x: p99 of refusals", null],
  ]);
});
