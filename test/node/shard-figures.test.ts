// What /metrics shows of a node's shards: open orders and accounts counted from the ledger,
// nothing counted for a shard still replaying.
import { expect, test } from "bun:test";
import { newAccount, type Account } from "../../src/core/account.ts";
import { addOrder } from "../../src/core/order-list.ts";
import type { Order, OrderStatus } from "../../src/core/order.ts";
import { shardFigures } from "../../src/node/shard-figures.ts";

function accountWith(id: string, statuses: readonly OrderStatus[]): Account {
  const account = newAccount(id, 0);
  // Only the status matters to the count.
  statuses.forEach((status, index) => addOrder(account, { id: `${id}-${index}`, listPosition: index, status } as Order));
  return account;
}

test("open orders and accounts are counted per shard; a replaying shard has neither", async () => {
  const many: OrderStatus[] = Array.from({ length: 5000 }, (_, i) => (i % 5 === 0 ? "new" : "filled"));
  const ledger = new Map([
    ["a", accountWith("a", ["new", "partially_filled", "pending_cancel", "filled", "canceled", "rejected", "expired"])],
    ["b", accountWith("b", many)],
    ["c", accountWith("c", [])],
  ]);
  const figures = await shardFigures([
    { shard: 1, epoch: 3n, owned: true, ledger },
    { shard: 2, epoch: 5n, owned: false, ledger: undefined },
  ]);
  expect(figures).toEqual([
    { shard: 1, owned: true, epoch: 3n, accounts: 3, openOrders: 3 + 1000 },
    { shard: 2, owned: false, epoch: 5n, accounts: null, openOrders: null },
  ]);
});
