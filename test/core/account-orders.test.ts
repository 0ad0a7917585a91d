// An account with more orders than its recent Map holds: orders move to the settled Map, and
// every lookup, check and snapshot still sees them all.
import { describe, expect, test } from "bun:test";
import { findOrder, RECENT_ORDERS_MAX } from "../../src/core/account.ts";
import { checkInvariants } from "../../src/core/invariants.ts";
import { decodeLedger, encodeLedger } from "../../src/core/ledger-codec.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import { decide } from "../../src/core/state-machine.ts";
import { accept, accountOf, cancel, expectEvents, expectRejected, fundedLedger, orderOf, submit, usd } from "./fixtures.ts";

const ORDERS = RECENT_ORDERS_MAX + 5;

function ledgerWithManyOrders() {
  const ledger = fundedLedger(usd("100000000"));
  for (let index = 0; index < ORDERS; index++) {
    // Every other order names a client order id of its own; the rest carry their order id.
    const orderId = `ord-${index}`;
    accept(ledger, submit({ orderId, clientOrderId: index % 2 === 0 ? orderId : `client-${index}`, qty: 1n, limitPrice: usd("1") }));
  }
  return ledger;
}

describe("an account with more orders than its recent Map holds", () => {
  const ledger = ledgerWithManyOrders();
  const account = accountOf(ledger);

  test("keeps the older orders in the settled Map and the newest in the recent one, all listed oldest first", () => {
    expect(account.settledOrders?.size).toBe(RECENT_ORDERS_MAX);
    expect(account.recentOrders.size).toBe(5);
    expect(findOrder(account, "ord-0")?.id).toBe("ord-0");
    expect(findOrder(account, `ord-${ORDERS - 1}`)?.id).toBe(`ord-${ORDERS - 1}`);
    expect(findOrder(account, "ord-nowhere")).toBeUndefined();
    const listed = [...oldestFirst(account)];
    expect(listed).toHaveLength(ORDERS);
    expect(listed[0]?.id).toBe("ord-0");
    expect(listed[ORDERS - 1]?.id).toBe(`ord-${ORDERS - 1}`);
  });

  test("a settled order's id and client order id are still taken, and it can still be canceled", () => {
    expectRejected(decide(ledger, submit({ orderId: "ord-1", clientOrderId: "fresh", qty: 1n, limitPrice: usd("1") })), "already_exists", "order_id");
    expect(decide(ledger, submit({ orderId: "ord-new", clientOrderId: "client-1", qty: 1n, limitPrice: usd("1") }))).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    expect(decide(ledger, submit({ orderId: "ord-new", clientOrderId: "ord-2", qty: 1n, limitPrice: usd("1") }))).toEqual({ ok: true, events: [], duplicateOf: "ord-2" });
    expectEvents(decide(ledger, cancel("ord-0")), ["order_cancel_requested"]);
  });

  test("keeps its invariants, and a snapshot brings the same Maps back", () => {
    checkInvariants(account);
    const copy = accountOf(decodeLedger(encodeLedger(ledger)));
    expect(copy.settledOrders?.size).toBe(RECENT_ORDERS_MAX);
    expect([...copy.recentOrders.keys()]).toEqual([...account.recentOrders.keys()]);
    expect(orderOf(new Map([[copy.id, copy]]), "ord-3")).toEqual(orderOf(ledger, "ord-3"));
  });
});
