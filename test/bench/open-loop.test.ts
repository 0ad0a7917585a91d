// The open-loop runner's bookkeeping under both pacings, on a virtual clock that the test
// drives: every request is sent once, in schedule order, at its time; each answer is timed
// from its intended start; the achieved rate, the bound on requests in flight and the whole
// run's accounting come out exactly, however busy the machine running the test is.
import { describe, expect, test } from "bun:test";
import { runOpenLoop, type LoadClock } from "../../bench/lib/open-loop.ts";
import { TICK_LEAD_MS } from "../../bench/lib/send-ticker.ts";
import { VirtualLoadClock } from "./virtual-load-clock.ts";

// Rates whose intervals (0.5 ms, 1 ms) are exact in binary, so schedule times add up exactly.

/** A server that answers one request at a time, each taking serviceMs of the clock's time. */
function serialServer(clock: LoadClock, serviceMs: number): () => Promise<void> {
  let freeAtMs = 0;
  return () => {
    freeAtMs = Math.max(freeAtMs, clock.now()) + serviceMs;
    return clock.sleep(freeAtMs - clock.now());
  };
}

describe.each(["poll", "ticker"] as const)("runOpenLoop, %s pacing", (pacing) => {
  /** How early the pacing may send a request (then timed from when it was sent). */
  const leadMs = pacing === "ticker" ? TICK_LEAD_MS : 0;

  test("sends each index once, in order, on schedule, and counts every answer of the window", async () => {
    const clock = new VirtualLoadClock();
    const sentAtMs: number[] = [];
    const result = await runOpenLoop({
      ratePerSec: 2_000,
      warmupMs: 100,
      durationMs: 400,
      pacing,
      clock,
      send: (index) => {
        expect(index).toBe(sentAtMs.length);
        sentAtMs.push(clock.now());
        return Promise.resolve();
      },
    });
    // 500 ms at 2,000/s: indexes 0-999, index i due at i × 0.5 ms.
    expect(sentAtMs.length).toBe(1_000);
    const offSchedule = sentAtMs.filter((atMs, index) => atMs > index * 0.5 || atMs < index * 0.5 - leadMs);
    expect(offSchedule).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.overloaded).toBe(false);
    // The 800 due in the 400 ms window after the warm-up, answered at once.
    expect(result.latency.count).toBe(800);
    expect(result.achievedPerSec).toBe(2_000);
    expect(result.whole).toMatchObject({ sent: 1_000, stoppedAtMs: 500, answeredWhileSending: 1_000, inFlightAtStop: 0, drainMs: 0 });
  });

  test("times each answer from its request's intended start: a system that falls behind shows its queue", async () => {
    const clock = new VirtualLoadClock();
    // 1,000/s asked of a server that does 500/s: request i (due at i ms) is answered at
    // 2(i + 1) ms, i + 2 ms after its start.
    const result = await runOpenLoop({ ratePerSec: 1_000, warmupMs: 0, durationMs: 100, pacing, clock, send: serialServer(clock, 2) });
    expect(result.latency.count).toBe(100);
    // The last (i = 99): 101 ms (up to leadMs more if sent early), to the histogram's 3 digits.
    expect(result.latency.max_us).toBeGreaterThanOrEqual(101_000 * 0.999);
    expect(result.latency.max_us).toBeLessThanOrEqual((101 + leadMs) * 1_000 * 1.001);
    // The first's 2 ms, not the time it took to send.
    expect(result.latency.p50_us).toBeGreaterThanOrEqual(50_000 * 0.999);
    // Answered in the 100 ms window: the 50 done by 100 ms, so it reads the server's rate.
    expect(result.achievedPerSec).toBe(500);
    expect(result.overloaded).toBe(false);
    expect(result.whole).toMatchObject({ sent: 100, stoppedAtMs: 100, answeredWhileSending: 50, inFlightAtStop: 50, answeredAfterStop: 50, drainMs: 100 });
  });

  test("a request the runner itself sends late is timed from its intended start, not from when it went", async () => {
    const clock = new VirtualLoadClock();
    // Sending index 10 (due at 10 ms) holds the runner for 50 ms: it is answered at 60 ms, and
    // indexes 11-60 go out together at 60 ms, 49 ms late down to on time.
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 0,
      durationMs: 100,
      pacing,
      clock,
      send: (index) => {
        if (index === 10) clock.advance(50);
        return Promise.resolve();
      },
    });
    expect(result.latency.count).toBe(100);
    expect(result.latency.max_us).toBeGreaterThanOrEqual(50_000 * 0.999);
    expect(result.latency.max_us).toBeLessThanOrEqual(50_000 * 1.001);
    // (50 + 49 + 48 + … + 0) ms over 100 requests (the late ones up to leadMs less, when the
    // ticker woke early); timed from when they went it would be 0.5 ms.
    expect(result.latency.mean_us).toBeGreaterThanOrEqual(12_750 - (50 * leadMs * 1_000) / 100 - 10);
    expect(result.latency.mean_us).toBeLessThanOrEqual(12_800);
  });

  test("counts failed sends as errors, by kind, and times them apart from the answers", async () => {
    const clock = new VirtualLoadClock();
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 10,
      durationMs: 100,
      pacing,
      clock,
      send: async () => {
        await clock.sleep(2);
        throw new Error("refused");
      },
      failureKind: (error) => (error instanceof Error ? error.message : "?"),
    });
    // Errors count in the window only; failures over the whole run, warm-up included.
    expect(result.errors).toBe(100);
    expect(result.whole.failures).toEqual({ refused: 110 });
    expect(Object.keys(result.failed)).toEqual(["refused"]);
    // Each refusal came 2 ms after its send: how fast refusals come back is measured.
    expect(result.failed["refused"]?.count).toBe(100);
    expect(result.failed["refused"]?.p50_us).toBeGreaterThanOrEqual(2_000 * 0.999);
    expect(result.failed["refused"]?.max_us).toBeLessThanOrEqual((2 + leadMs) * 1_000 * 1.001);
    expect(result.latency.count).toBe(0);
    expect(result.whole.latency.count).toBe(0);
  });

  test("an overloaded run stops at the bound, and its achieved rate is over the time it ran", async () => {
    const clock = new VirtualLoadClock();
    // The first 300 answers come at once, then every answer takes 200 ms: the 20th request in
    // flight is index 319, due at 319 ms of a 5 s window.
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 1,
      durationMs: 5_000,
      inFlightMax: 20,
      pacing,
      clock,
      send: (index) => (index < 300 ? Promise.resolve() : clock.sleep(200)),
    });
    expect(result.overloaded).toBe(true);
    // 299 answers (indexes 1-299) in the ~318 ms from the warm-up's end to the stop: ~940/s;
    // over the whole 5 s window it would read 60/s.
    expect(result.achievedPerSec).toBeGreaterThanOrEqual(Math.floor(299 / 0.319));
    expect(result.achievedPerSec).toBeLessThanOrEqual(Math.ceil(299 / (0.318 - leadMs / 1_000)));
    const { whole } = result;
    expect(whole).toMatchObject({ sent: 320, stoppedAtMs: 319, answeredWhileSending: 300, inFlightAtStop: 20, answeredAfterStop: 20 });
    // The last sent (at 319 ms, or up to leadMs before) answered 200 ms later.
    expect(whole.drainMs).toBe(200);
  });

  test("a run stopped at its bound in the warm-up still accounts for every request it sent", async () => {
    const clock = new VirtualLoadClock();
    // Every answer takes 200 ms: the bound of 20 in flight is reached at 19 ms of a 2 s warm-up,
    // so the measured window never opens; what was sent, answered and failed is still told.
    const result = await runOpenLoop({
      ratePerSec: 1_000,
      warmupMs: 2_000,
      durationMs: 1_000,
      inFlightMax: 20,
      pacing,
      clock,
      send: (index) => clock.sleep(200).then(() => (index % 5 === 0 ? Promise.reject(new Error("unavailable")) : undefined)),
      failureKind: (error) => (error instanceof Error ? error.message : "?"),
    });
    expect(result.overloaded).toBe(true);
    expect(result.achievedPerSec).toBe(0);
    expect(result.latency.count).toBe(0);
    // Indexes 0, 5, 10 and 15 failed; the other 16 were answered, all after the stop.
    expect(result.whole).toMatchObject({
      warmupMs: 2_000,
      sent: 20,
      stoppedAtMs: 19,
      answeredWhileSending: 0,
      inFlightAtStop: 20,
      answeredAfterStop: 16,
      drainMs: 200,
      failures: { unavailable: 4 },
    });
    expect(result.whole.latency.count).toBe(16);
    expect(result.whole.latency.max_us).toBeGreaterThanOrEqual(200_000 * 0.999);
    expect(result.whole.latency.max_us).toBeLessThanOrEqual((200 + leadMs) * 1_000 * 1.001);
  });
});

test("on the real clock (the worker-thread ticker) the bookkeeping holds; how fast is not asserted", async () => {
  const indexes: number[] = [];
  const result = await runOpenLoop({
    ratePerSec: 2_000,
    warmupMs: 20,
    durationMs: 80,
    pacing: "ticker",
    send: (index) => {
      indexes.push(index);
      return Promise.resolve();
    },
  });
  expect(indexes).toEqual(indexes.map((_, i) => i));
  expect(indexes.length).toBeLessThanOrEqual(200);
  expect(result.whole.sent).toBe(indexes.length);
  expect(result.whole.answeredWhileSending + result.whole.answeredAfterStop).toBe(indexes.length);
  expect(result.errors).toBe(0);
}, 10_000);
