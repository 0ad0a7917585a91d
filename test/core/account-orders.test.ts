// An account with more orders than one chunk of its list by age holds: every lookup, check and
// snapshot still sees them all, in creation order.
import { describe, expect, test } from "bun:test";
import { findOrder } from "../../src/core/account.ts";
import { checkInvariants } from "../../src/core/invariants.ts";
import { decodeLedger, encodeLedger } from "../../src/core/ledger-codec.ts";
import { CHUNK_ORDERS, oldestFirst, orderAt, orderCount } from "../../src/core/order-list.ts";
import { decide } from "../../src/core/state-machine.ts";
import { accept, accountOf, cancel, expectEvents, expectRejected, fundedLedger, submit, usd } from "./fixtures.ts";

const ORDERS = 2 * CHUNK_ORDERS + 5;

function ledgerWithManyOrders() {
  const ledger = fundedLedger(usd("100000000"));
  for (let index = 0; index < ORDERS; index++) {
    // Every other order names a client order id of its own; the rest carry their order id.
    const orderId = `ord-${index}`;
    accept(ledger, submit({ orderId, clientOrderId: index % 2 === 0 ? orderId : `client-${index}`, qty: 1n, limitPrice: usd("1") }));
  }
  return ledger;
}

describe("an account with orders in several chunks", () => {
  const ledger = ledgerWithManyOrders();
  const account = accountOf(ledger);

  test("lists every order at its creation position and finds each by id", () => {
    expect(account.olderOrderChunks).toHaveLength(2);
    expect(orderCount(account)).toBe(ORDERS);
    for (const position of [0, CHUNK_ORDERS - 1, CHUNK_ORDERS, 2 * CHUNK_ORDERS, ORDERS - 1]) {
      expect(orderAt(account, position)?.id).toBe(`ord-${position}`);
      expect(findOrder(account, `ord-${position}`)).toBe(orderAt(account, position)!);
    }
    expect([...oldestFirst(account)].map((order) => order.id)).toEqual(Array.from({ length: ORDERS }, (_, index) => `ord-${index}`));
  });

  test("an old order's id and client order id are still taken, and it can still be canceled", () => {
    expectRejected(decide(ledger, submit({ orderId: "ord-1", clientOrderId: "fresh", qty: 1n, limitPrice: usd("1") })), "already_exists", "order_id");
    expect(decide(ledger, submit({ orderId: "ord-new", clientOrderId: "client-1", qty: 1n, limitPrice: usd("1") }))).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    expect(decide(ledger, submit({ orderId: "ord-new", clientOrderId: "ord-2", qty: 1n, limitPrice: usd("1") }))).toEqual({ ok: true, events: [], duplicateOf: "ord-2" });
    expectEvents(decide(ledger, cancel("ord-0")), ["order_cancel_requested"]);
  });

  test("keeps its invariants, and a snapshot brings the same chunks and Maps back", () => {
    checkInvariants(account);
    const copy = accountOf(decodeLedger(encodeLedger(ledger)));
    expect(copy).toEqual(account);
    expect(copy.olderOrderChunks.map((chunk) => chunk.length)).toEqual([CHUNK_ORDERS, CHUNK_ORDERS]);
    expect([...copy.orderIdsByDistinctClientOrderId.keys()]).toEqual([...account.orderIdsByDistinctClientOrderId.keys()]);
  });
});
