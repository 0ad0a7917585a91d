// The simulation's event loop: one order of events per seed, and a paused owner's events wait
// and then run in the order they were scheduled, however often the pause is extended (a
// paused process still reads its socket in order; seed 35972 once delivered fills reversed).
import { expect, test } from "bun:test";
import { EventLoop, WORLD } from "../../src/sim/event-loop.ts";

test("events run by time, then in the order scheduled; a dead owner's never run", async () => {
  const loop = new EventLoop();
  const ran: string[] = [];
  loop.at(20, "n", () => ran.push("n@20"));
  loop.at(10, WORLD, () => ran.push("world@10"));
  loop.at(20, WORLD, () => ran.push("world@20"));
  loop.at(15, "dead", () => ran.push("dead@15"));
  loop.kill("dead");
  await loop.runUntil(100);
  expect(ran).toEqual(["world@10", "n@20", "world@20"]);
  expect(loop.nowMs).toBe(100);
});

test("a paused owner's events keep their order when the pause is extended while they wait", async () => {
  const loop = new EventLoop();
  const ran: string[] = [];
  loop.at(5, WORLD, () => loop.pause("n", 100));
  loop.at(10, "n", () => ran.push(`first@${loop.nowMs}`));
  loop.at(50, WORLD, () => loop.pause("n", 101));
  loop.at(60, "n", () => ran.push(`second@${loop.nowMs}`));
  loop.at(99, "n", () => ran.push(`third@${loop.nowMs}`));
  await loop.runUntil(200);
  expect(ran).toEqual(["first@101", "second@101", "third@101"]);
});
