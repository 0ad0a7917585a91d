// One timer answers every command whose record the log did not confirm in time, and only those.
import { expect, test } from "bun:test";
import { AckDeadlines } from "../../src/node/ack-deadlines.ts";
import { runtimeScheduler } from "../../src/node/scheduler.ts";

test("a wait answered before its deadline never times out; one past it times out once and cannot be answered after", () => {
  let nowMs = 0;
  const deadlines = new AckDeadlines(100, { ...runtimeScheduler, now: () => nowMs });
  const timedOut: string[] = [];
  const first = deadlines.wait(() => timedOut.push("first"));
  nowMs = 40;
  const second = deadlines.wait(() => timedOut.push("second"));
  const third = deadlines.wait(() => timedOut.push("third"));
  expect(deadlines.answer(second)).toBe(true);
  nowMs = 100; // first's deadline, not yet third's
  deadlines.expire();
  expect(timedOut).toEqual(["first"]);
  expect(deadlines.answer(first)).toBe(false);
  expect(deadlines.answer(second)).toBe(false); // answered once already
  expect(deadlines.pending).toBe(1);
  nowMs = 140;
  deadlines.expire();
  expect(timedOut).toEqual(["first", "third"]);
  expect(deadlines.answer(third)).toBe(false);
  expect(deadlines.pending).toBe(0);
  deadlines.close();
});

test("waits answered out of order are dropped and the rest still time out in order", () => {
  let nowMs = 0;
  const deadlines = new AckDeadlines(10, { ...runtimeScheduler, now: () => nowMs });
  const timedOut: number[] = [];
  const waits = Array.from({ length: 3000 }, (_, i) => deadlines.wait(() => timedOut.push(i)));
  for (let i = 0; i < waits.length; i++) if (i % 3 !== 1) deadlines.answer(waits[i]!);
  expect(deadlines.pending).toBe(1000);
  nowMs = 10;
  deadlines.expire();
  expect(timedOut).toEqual(Array.from({ length: 1000 }, (_, k) => 3 * k + 1));
  expect(deadlines.pending).toBe(0);
  deadlines.close();
});

test("the timer answers a wait nobody answered", async () => {
  const deadlines = new AckDeadlines(5);
  const { promise, resolve } = Promise.withResolvers<string>();
  deadlines.answer(deadlines.wait(() => resolve("answered one timed out")));
  deadlines.wait(() => resolve("timed out"));
  expect(await promise).toBe("timed out");
  deadlines.close();
});
