// Answers of an account are released in the order its requests came, whatever order they are
// known in; another account's answers never wait for it.
import { expect, test } from "bun:test";
import { AccountAnswerOrder, type InAccountOrder } from "../../src/balancer/account-answer-order.ts";
import { seededRandom } from "../../src/venue/seeded-random.ts";

class Item implements InAccountOrder<Item> {
  known = false;
  waiting = false;
  nextOfAccount: Item | null = null;
  constructor(readonly accountId: string, readonly name: string) {}
}

test("an account's answers known in reverse are released in request order; another account's go at once", () => {
  const order = new AccountAnswerOrder<Item>();
  const [a1, a2, a3, b1] = [new Item("a", "a1"), new Item("a", "a2"), new Item("a", "a3"), new Item("b", "b1")];
  for (const item of [a1, a2, a3, b1]) order.enter(item);
  const ready: Item[] = [];
  for (const item of [a3, b1, a2, a1]) {
    item.known = true;
    order.release(item, ready);
  }
  expect(ready.map((item) => item.name)).toEqual(["b1", "a1", "a2", "a3"]);
});

test("for any order of answers, each account's are released once each, in request order", () => {
  const random = seededRandom(11);
  for (let trial = 0; trial < 200; trial++) {
    const order = new AccountAnswerOrder<Item>();
    const items = Array.from({ length: 30 }, (_, i) => new Item(`acct-${Math.floor(random() * 4)}`, String(i)));
    for (const item of items) order.enter(item);
    const shuffled = [...items].sort(() => random() - 0.5);
    const ready: Item[] = [];
    for (const item of shuffled) {
      item.known = true;
      order.release(item, ready);
    }
    expect(ready.length).toBe(items.length);
    for (const account of new Set(items.map((item) => item.accountId))) {
      const released = ready.filter((item) => item.accountId === account).map((item) => Number(item.name));
      expect(released).toEqual([...released].sort((x, y) => x - y));
    }
  }
});
