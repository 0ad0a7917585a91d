// Effects of a record that became durable while the lease was in doubt wait for the answer:
// run in order once the lease is renewed, dropped once another node has claimed the shard.
import { expect, test } from "bun:test";
import { HELD_EFFECTS_RETRY_MS, HeldEffects, type Ownership } from "../../src/node/held-effects.ts";
import { EventLoop, WORLD } from "../../src/sim/event-loop.ts";

function setUp() {
  const loop = new EventLoop();
  const state = new Map<number, Ownership>([[0, "owned"], [1, "owned"]]);
  const ran: string[] = [];
  const died: unknown[] = [];
  const held = new HeldEffects((shard) => state.get(shard) ?? "fenced", loop.schedulerFor(WORLD), (error) => died.push(error));
  const later = (ms: number) => loop.runUntil(loop.nowMs + ms);
  return { state, ran, died, held, later };
}

test("an owned shard's effects run at once; a lapsed one's wait and run in order once it is owned again", async () => {
  const { state, ran, held, later } = setUp();
  held.run(0, () => ran.push("a"));
  expect(ran).toEqual(["a"]);
  state.set(0, "lapsed");
  held.run(0, () => ran.push("b"));
  state.set(0, "owned");
  held.run(0, () => ran.push("c")); // owned again, but b is still held: c waits behind it
  expect(ran).toEqual(["a"]);
  await later(HELD_EFFECTS_RETRY_MS);
  expect(ran).toEqual(["a", "b", "c"]);
});

test("a fenced shard's held effects are dropped, and another shard's are not held up by them", async () => {
  const { state, ran, held, later } = setUp();
  state.set(0, "lapsed");
  held.run(0, () => ran.push("lost"));
  held.run(1, () => ran.push("other"));
  state.set(0, "fenced");
  await later(HELD_EFFECTS_RETRY_MS * 3);
  held.run(0, () => ran.push("after fencing"));
  await later(HELD_EFFECTS_RETRY_MS);
  expect(ran).toEqual(["other"]);
});

test("a held effect that throws stops the node", async () => {
  const { state, died, held, later } = setUp();
  state.set(0, "lapsed");
  held.run(0, () => {
    throw new Error("venue refused");
  });
  state.set(0, "owned");
  await later(HELD_EFFECTS_RETRY_MS);
  expect(died.map(String)).toEqual(["Error: venue refused"]);
});
