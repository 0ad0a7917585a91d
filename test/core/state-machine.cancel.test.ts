// cancel_order: only an open order can be asked to cancel; the hold stays until the venue confirms.
import { describe, expect, test } from "bun:test";
import type { OrderStatus } from "../../src/core/order.ts";
import { decide } from "../../src/core/state-machine.ts";
import {
  accountOf,
  cancel,
  canonical,
  expectEvents,
  expectRejected,
  fundedLedger,
  ledgerWithOrderIn,
  orderOf,
  run,
  usd,
  venueCanceled,
} from "./fixtures.ts";

describe("cancel_order", () => {
  test("an unknown account is not_found naming account_id", () => {
    expectRejected(decide(new Map(), cancel("ord-1", "nobody")), "not_found", "account_id");
  });

  test("an unknown order is not_found naming order_id", () => {
    expectRejected(decide(fundedLedger(), cancel("ord-404")), "not_found", "order_id");
  });

  test.each(["new", "partially_filled"] as const)("a %s order goes pending_cancel and keeps its hold", (status) => {
    const { ledger, orderId } = ledgerWithOrderIn(status);
    const heldCash = accountOf(ledger).heldCash;
    const holdCash = orderOf(ledger, orderId).holdCash;
    expect(heldCash).toBeGreaterThan(0n);
    const events = expectEvents(run(ledger, cancel(orderId)), ["order_cancel_requested"]);
    expect(events[0]).toMatchObject({ kind: "order_cancel_requested", orderId });
    expect(orderOf(ledger, orderId).status).toBe("pending_cancel");
    expect(orderOf(ledger, orderId).holdCash).toBe(holdCash);
    expect(accountOf(ledger).heldCash).toBe(heldCash);
  });

  test("cancelling an order already pending_cancel is accepted with no events and changes nothing", () => {
    const { ledger, orderId } = ledgerWithOrderIn("pending_cancel");
    const before = canonical(ledger);
    expect(decide(ledger, cancel(orderId))).toEqual({ ok: true, events: [] });
    expect(canonical(ledger)).toBe(before);
  });

  const refused: OrderStatus[] = ["filled", "canceled", "expired", "rejected", "replaced", "pending_replace", "pending_new"];
  test.each(refused)("cancelling a %s order is failed_precondition", (status) => {
    const { ledger, orderId } = ledgerWithOrderIn(status);
    const before = canonical(ledger);
    expectRejected(decide(ledger, cancel(orderId)), "failed_precondition");
    expect(canonical(ledger)).toBe(before);
  });

  test("the venue's confirmation of a requested cancel releases the hold", () => {
    const { ledger, orderId } = ledgerWithOrderIn("pending_cancel");
    expectEvents(run(ledger, venueCanceled(orderId)), ["order_canceled"]);
    expect(orderOf(ledger, orderId).status).toBe("canceled");
    expect(orderOf(ledger, orderId).holdCash).toBe(0n);
    expect(accountOf(ledger).heldCash).toBe(0n);
    expect(accountOf(ledger).cash).toBe(usd("10000"));
  });
});
