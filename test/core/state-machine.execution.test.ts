// apply_execution: what a venue report does to an order, its holds, the cash and the position.
import { describe, expect, test } from "bun:test";
import { availableQty, buyingPower } from "../../src/core/account.ts";
import type { ApplyExecution, Execution } from "../../src/core/command.ts";
import { closedAtMs, type ClosedStatus, type OrderStatus } from "../../src/core/order.ts";
import { decide } from "../../src/core/state-machine.ts";
import {
  accept,
  accountOf,
  AT_MS,
  canonical,
  execution,
  expectEvents,
  expectRejected,
  fill,
  fundedLedger,
  ledgerWithOrderIn,
  ledgerWithShares,
  orderOf,
  positionOf,
  run,
  submit,
  usd,
  venueCanceled,
  venueExpired,
  venueRejected,
} from "./fixtures.ts";

describe("fill validation", () => {
  test("a fill for an unknown account is not_found naming account_id", () => {
    const command = { ...fill("ord-1", 1, 1n, usd("10")), accountId: "nobody" };
    expectRejected(decide(new Map(), command), "not_found", "account_id");
  });

  test("a fill for an unknown order is not_found naming order_id", () => {
    expectRejected(decide(fundedLedger(), fill("ord-404", 1, 1n, usd("10"))), "not_found", "order_id");
  });

  test("a fill whose seq was already applied is accepted with no events and changes nothing", () => {
    const { ledger } = ledgerWithOrderIn("new");
    accept(ledger, fill("ord-1", 5, 2n, usd("10")));
    const before = canonical(ledger);
    expect(decide(ledger, fill("ord-1", 5, 2n, usd("10")))).toEqual({ ok: true, events: [] });
    expect(decide(ledger, fill("ord-1", 4, 1n, usd("9")))).toEqual({ ok: true, events: [] });
    expect(canonical(ledger)).toBe(before);
  });

  test("a replayed fill of an order it completed is a duplicate, not an error", () => {
    const { ledger } = ledgerWithOrderIn("filled"); // filled by seq 1
    expect(decide(ledger, fill("ord-1", 1, 10n, usd("10")))).toEqual({ ok: true, events: [] });
  });

  const closed: OrderStatus[] = ["filled", "canceled", "expired", "rejected", "replaced", "pending_new"];
  test.each(closed)("a new fill on a %s order is failed_precondition", (status) => {
    const { ledger, orderId } = ledgerWithOrderIn(status);
    const before = canonical(ledger);
    expectRejected(decide(ledger, fill(orderId, 99, 1n, usd("9"))), "failed_precondition");
    expect(canonical(ledger)).toBe(before);
  });

  test.each([0n, -1n, 11n])("a fill of qty %p on an order of 10 is failed_precondition", (qty) => {
    const { ledger } = ledgerWithOrderIn("new");
    expectRejected(decide(ledger, fill("ord-1", 1, qty, usd("10"))), "failed_precondition");
  });

  test("a fill of more than the remaining qty of a partially filled order is failed_precondition", () => {
    const { ledger } = ledgerWithOrderIn("partially_filled"); // 4 of 10 filled
    expectRejected(decide(ledger, fill("ord-1", 2, 7n, usd("10"))), "failed_precondition");
    expectEvents(decide(ledger, fill("ord-1", 2, 6n, usd("10"))), ["order_filled"]);
  });

  test("a buy fill one unit above the collar is failed_precondition; at the collar it is accepted", () => {
    const { ledger } = ledgerWithOrderIn("new"); // limit $10
    expectRejected(decide(ledger, fill("ord-1", 1, 1n, usd("10.0001"))), "failed_precondition");
    expectEvents(decide(ledger, fill("ord-1", 1, 1n, usd("10"))), ["order_filled"]);
  });

  test("a market buy fill above its collar is failed_precondition", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ type: "market", limitPrice: null, askPrice: usd("10") })); // collar $10.40
    expectRejected(decide(ledger, fill("ord-1", 1, 1n, usd("10.41"))), "failed_precondition");
    expectEvents(decide(ledger, fill("ord-1", 1, 1n, usd("10.4"))), ["order_filled"]);
  });
});

describe("fill effects", () => {
  test("a partial buy fill pays the fill price and releases the collar's worth of hold", () => {
    const { ledger } = ledgerWithOrderIn("new"); // 10 @ $10, cash $10,000
    const events = expectEvents(run(ledger, fill("ord-1", 3, 4n, usd("9.5"))), ["order_filled"]);
    expect(events[0]).toMatchObject({ kind: "order_filled", orderId: "ord-1", executionSeq: 3, qty: 4n, price: usd("9.5") });
    const order = orderOf(ledger, "ord-1");
    expect(order.status).toBe("partially_filled");
    expect(order.filledQty).toBe(4n);
    expect(order.filledNotional).toBe(usd("38"));
    expect(order.lastExecutionSeq).toBe(3);
    expect(order.holdCash).toBe(usd("60"));
    const account = accountOf(ledger);
    expect(account.cash).toBe(usd("9962"));
    expect(account.heldCash).toBe(usd("60"));
    expect(positionOf(ledger)).toMatchObject({ symbol: "AAPL", qty: 4n, heldQty: 0n, costBasis: usd("38") });
  });

  test("the buy fill completing an order marks it filled and releases the hold left over below the collar", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, fill("ord-1", 1, 4n, usd("9.5")));
    run(ledger, fill("ord-1", 2, 6n, usd("9")));
    const order = orderOf(ledger, "ord-1");
    expect(order.status).toBe("filled");
    expect(order.filledQty).toBe(10n);
    expect(order.filledNotional).toBe(usd("92"));
    expect(order.holdCash).toBe(0n);
    expect(accountOf(ledger).heldCash).toBe(0n);
    expect(accountOf(ledger).cash).toBe(usd("9908"));
    expect(buyingPower(accountOf(ledger))).toBe(usd("9908"));
    expect(positionOf(ledger)).toMatchObject({ qty: 10n, costBasis: usd("92") });
  });

  test("a market buy fill releases qty × collar of hold", () => {
    const ledger = fundedLedger(usd("1000"));
    accept(ledger, submit({ type: "market", limitPrice: null, qty: 5n, askPrice: usd("10") })); // holds 5 × 10.40
    run(ledger, fill("ord-1", 1, 2n, usd("10.1")));
    expect(accountOf(ledger).heldCash).toBe(3n * usd("10.4"));
    expect(accountOf(ledger).cash).toBe(usd("1000") - 2n * usd("10.1"));
  });

  test("a sell fill credits cash, removes the shares and their hold, and reduces cost basis in proportion", () => {
    const ledger = ledgerWithShares(10n, usd("10"), usd("0")); // cost basis $100, cash $0
    accept(ledger, submit({ orderId: "sell-1", side: "sell", qty: 6n, limitPrice: usd("12") }));
    const events = expectEvents(run(ledger, fill("sell-1", 1, 4n, usd("12.5"))), ["order_filled"]);
    expect(events[0]).toMatchObject({ qty: 4n, price: usd("12.5") });
    expect(accountOf(ledger).cash).toBe(usd("50"));
    expect(positionOf(ledger)).toMatchObject({ qty: 6n, heldQty: 2n, costBasis: usd("60") });
    expect(orderOf(ledger, "sell-1")).toMatchObject({ status: "partially_filled", filledQty: 4n, holdQty: 2n });
  });

  test("a sell fill above the limit is not refused: sells have no collar", () => {
    const ledger = ledgerWithShares(10n, usd("10"));
    accept(ledger, submit({ orderId: "sell-1", side: "sell", qty: 2n, limitPrice: usd("12") }));
    expectEvents(decide(ledger, fill("sell-1", 1, 2n, usd("50"))), ["order_filled"]);
  });

  test("selling the whole position leaves no shares and no cost basis", () => {
    const ledger = ledgerWithShares(3n, usd("3.33"), usd("0")); // cost basis $9.99
    accept(ledger, submit({ orderId: "sell-1", side: "sell", type: "market", limitPrice: null, qty: 3n }));
    run(ledger, fill("sell-1", 1, 1n, usd("4")));
    run(ledger, fill("sell-1", 2, 2n, usd("4")));
    expect(orderOf(ledger, "sell-1").status).toBe("filled");
    expect(accountOf(ledger).cash).toBe(usd("12"));
    const position = accountOf(ledger).positions.get("AAPL");
    expect(position?.qty ?? 0n).toBe(0n);
    expect(position?.heldQty ?? 0n).toBe(0n);
    expect(position?.costBasis ?? 0n).toBe(0n);
  });

  test("a fill on a pending_cancel order keeps it pending_cancel until it is complete", () => {
    const { ledger } = ledgerWithOrderIn("pending_cancel");
    run(ledger, fill("ord-1", 1, 4n, usd("10")));
    expect(orderOf(ledger, "ord-1").status).toBe("pending_cancel");
    expect(orderOf(ledger, "ord-1").filledQty).toBe(4n);
    run(ledger, fill("ord-1", 2, 6n, usd("10")));
    expect(orderOf(ledger, "ord-1").status).toBe("filled");
    expect(accountOf(ledger).heldCash).toBe(0n);
  });
});

describe("venue closing an order", () => {
  const closings: [string, (orderId: string) => ReturnType<typeof venueCanceled>, OrderStatus][] = [
    ["order_canceled", venueCanceled, "canceled"],
    ["order_expired", venueExpired, "expired"],
    ["order_rejected", venueRejected, "rejected"],
  ];

  for (const [eventKind, report, closedStatus] of closings) {
    for (const from of ["new", "partially_filled", "pending_cancel"] as const) {
      test(`${eventKind} on a ${from} buy releases its whole remaining hold and sets it ${closedStatus}`, () => {
        const { ledger, orderId } = ledgerWithOrderIn(from);
        const cash = accountOf(ledger).cash;
        expectEvents(run(ledger, report(orderId)), [eventKind as "order_canceled"]);
        const order = orderOf(ledger, orderId);
        expect(order.status).toBe(closedStatus);
        expect(order.holdCash).toBe(0n);
        expect(accountOf(ledger).heldCash).toBe(0n);
        expect(accountOf(ledger).cash).toBe(cash);
        expect(buyingPower(accountOf(ledger))).toBe(cash);
      });
    }

    test(`${eventKind} on an open sell releases its shares`, () => {
      const ledger = ledgerWithShares(10n, usd("10"));
      accept(ledger, submit({ orderId: "sell-1", side: "sell", qty: 7n, limitPrice: usd("11") }));
      accept(ledger, fill("sell-1", 1, 3n, usd("11")));
      expectEvents(run(ledger, report("sell-1")), [eventKind as "order_canceled"]);
      expect(orderOf(ledger, "sell-1")).toMatchObject({ status: closedStatus, holdQty: 0n, filledQty: 3n });
      expect(positionOf(ledger)).toMatchObject({ qty: 7n, heldQty: 0n });
      expect(availableQty(accountOf(ledger), "AAPL")).toBe(7n);
    });

    for (const terminal of ["filled", "canceled", "expired", "rejected", "replaced"] as const) {
      test(`${eventKind} on a ${terminal} order is accepted with no events`, () => {
        const { ledger, orderId } = ledgerWithOrderIn(terminal);
        const before = canonical(ledger);
        expect(decide(ledger, report(orderId))).toEqual({ ok: true, events: [] });
        expect(canonical(ledger)).toBe(before);
      });
    }
  }

  test("a venue report for an unknown order is not_found", () => {
    const report: Execution = { kind: "canceled", reason: "x" };
    expectRejected(decide(fundedLedger(), execution("ord-404", report)), "not_found", "order_id");
  });
});

describe("closing times", () => {
  const closings: [ClosedStatus, (orderId: string) => ApplyExecution][] = [
    ["filled", (orderId) => fill(orderId, 1, 10n, usd("10"))],
    ["canceled", venueCanceled],
    ["expired", venueExpired],
    ["rejected", venueRejected],
  ];
  test.each(closings)("an order %s has that closing time, when the report came, and no other", (status, report) => {
    const ledger = fundedLedger();
    accept(ledger, submit({ orderId: "ord-1" }));
    accept(ledger, { ...report("ord-1"), atMs: AT_MS + 5 });
    const order = orderOf(ledger, "ord-1");
    expect(order.status).toBe(status);
    for (const other of ["filled", "canceled", "expired", "replaced", "rejected"] as const) {
      expect(closedAtMs(order, other)).toBe(other === status ? AT_MS + 5 : null);
    }
    // Later reports about the closed order change nothing, so its closing time stays.
    accept(ledger, { ...venueCanceled("ord-1"), atMs: AT_MS + 9 });
    expect(closedAtMs(orderOf(ledger, "ord-1"), status)).toBe(AT_MS + 5);
  });

  test("an open order has no closing time", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ orderId: "ord-1" }));
    accept(ledger, { ...fill("ord-1", 1, 4n, usd("10")), atMs: AT_MS + 5 });
    expect(closedAtMs(orderOf(ledger, "ord-1"), "filled")).toBeNull();
  });
});
