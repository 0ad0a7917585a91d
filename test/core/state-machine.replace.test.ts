// replace_order and the venue's answers to it: the replacing order is pending_new and holds only
// the top-up over the old order's hold until the venue confirms or refuses the replace.
import { describe, expect, test } from "bun:test";
import { availableQty, buyingPower } from "../../src/core/account.ts";
import type { OrderReplaceRequested } from "../../src/core/event.ts";
import type { OrderStatus } from "../../src/core/order.ts";
import { decide } from "../../src/core/state-machine.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import {
  accept,
  accountOf,
  canonical,
  expectEvents,
  expectRejected,
  fill,
  fundedLedger,
  ledgerWithOrderIn,
  ledgerWithShares,
  orderOf,
  positionOf,
  replace,
  run,
  submit,
  usd,
  venueReplaced,
  venueReplaceRejected,
} from "./fixtures.ts";

describe("replace_order validation", () => {
  test("an unknown account is not_found naming account_id", () => {
    expectRejected(decide(new Map(), replace({ accountId: "nobody", qty: 5n })), "not_found", "account_id");
  });

  test("an unknown order is not_found naming order_id", () => {
    expectRejected(decide(fundedLedger(), replace({ orderId: "ord-404", qty: 5n })), "not_found", "order_id");
  });

  const notReplaceable: OrderStatus[] = [
    "filled",
    "canceled",
    "expired",
    "rejected",
    "replaced",
    "pending_cancel",
    "pending_replace",
    "pending_new",
  ];
  test.each(notReplaceable)("replacing a %s order is failed_precondition and changes nothing", (status) => {
    const { ledger, orderId } = ledgerWithOrderIn(status);
    const before = canonical(ledger);
    expectRejected(decide(ledger, replace({ orderId, newOrderId: "ord-3", qty: 5n })), "failed_precondition");
    expect(canonical(ledger)).toBe(before);
  });

  test("a replace that changes nothing is invalid_argument saying the parameters are not changed", () => {
    const { ledger } = ledgerWithOrderIn("new");
    const message = expectRejected(decide(ledger, replace()), "invalid_argument");
    expect(message).toMatch(/not changed/i);
  });

  test("a replace that restates the old values is invalid_argument", () => {
    const { ledger } = ledgerWithOrderIn("new");
    const decision = decide(ledger, replace({ qty: 10n, limitPrice: usd("10"), timeInForce: "day" }));
    expect(expectRejected(decision, "invalid_argument")).toMatch(/not changed/i);
  });

  test.each([0n, -3n])("a replacing qty of %p is invalid_argument naming qty", (qty) => {
    const { ledger } = ledgerWithOrderIn("new");
    expectRejected(decide(ledger, replace({ qty })), "invalid_argument", "qty");
  });

  test("a limit price on a market order is invalid_argument naming limit_price", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ type: "market", limitPrice: null }));
    expectRejected(decide(ledger, replace({ limitPrice: usd("10") })), "invalid_argument", "limit_price");
  });

  test("a stop price on a limit order is invalid_argument naming stop_price", () => {
    const { ledger } = ledgerWithOrderIn("new");
    expectRejected(decide(ledger, replace({ stopPrice: usd("9") })), "invalid_argument", "stop_price");
  });

  test("a limit price on a stop order is invalid_argument naming limit_price", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ type: "stop", limitPrice: null, stopPrice: usd("9") }));
    expectRejected(decide(ledger, replace({ limitPrice: usd("10") })), "invalid_argument", "limit_price");
  });

  test("a sub-penny limit price at or above $1 is invalid_argument naming limit_price", () => {
    const { ledger } = ledgerWithOrderIn("new");
    expectRejected(decide(ledger, replace({ limitPrice: usd("9.995") })), "invalid_argument", "limit_price");
  });

  test("a sub-penny stop price at or above $1 is invalid_argument naming stop_price", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ type: "stop", limitPrice: null, stopPrice: usd("9") }));
    expectRejected(decide(ledger, replace({ stopPrice: usd("9.0001") })), "invalid_argument", "stop_price");
  });

  test("a non-positive limit price is invalid_argument naming limit_price", () => {
    const { ledger } = ledgerWithOrderIn("new");
    expectRejected(decide(ledger, replace({ limitPrice: 0n })), "invalid_argument", "limit_price");
  });

  test.each(["ioc", "fok"] as const)("moving a stop order to %s is invalid_argument naming time_in_force", (timeInForce) => {
    const ledger = fundedLedger();
    accept(ledger, submit({ type: "stop", limitPrice: null, stopPrice: usd("9") }));
    expectRejected(decide(ledger, replace({ timeInForce })), "invalid_argument", "time_in_force");
  });

  test("a client order id already in use is already_exists naming client_order_id", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ orderId: "ord-1", clientOrderId: "client-1" }));
    accept(ledger, submit({ orderId: "ord-5", clientOrderId: "client-5", qty: 1n }));
    expectRejected(decide(ledger, replace({ clientOrderId: "client-5", qty: 5n })), "already_exists", "client_order_id");
    expectRejected(decide(ledger, replace({ clientOrderId: "client-1", qty: 5n })), "already_exists", "client_order_id");
  });

  test("a client order id that an order carries as its own order id is in use; an order id alone is not", () => {
    const ledger = fundedLedger();
    accept(ledger, submit({ orderId: "ord-1", clientOrderId: "client-1" }));
    accept(ledger, submit({ orderId: "ord-5", qty: 1n }));
    expectRejected(decide(ledger, replace({ clientOrderId: "ord-5", qty: 5n })), "already_exists", "client_order_id");
    // ord-1 carries client-1, so "ord-1" is free as a client order id, as it always was.
    accept(ledger, replace({ clientOrderId: "ord-1", qty: 5n }));
    expect(orderOf(ledger, "ord-2").clientOrderId).toBe("ord-1");
    expectRejected(decide(ledger, submit({ orderId: "ord-9", clientOrderId: "ord-1", qty: 5n })), "already_exists", "client_order_id");
  });
});

describe("replace_order request", () => {
  test("a replace emits the new order's terms: kept fields from the old order, changed ones from the request", () => {
    const { ledger } = ledgerWithOrderIn("new");
    const events = expectEvents(decide(ledger, replace({ limitPrice: usd("11"), timeInForce: "gtc" })), [
      "order_replace_requested",
    ]);
    const requested = events[0] as OrderReplaceRequested;
    expect(requested.orderId).toBe("ord-1");
    expect(requested.terms).toEqual({
      id: "ord-2",
      clientOrderId: "ord-2",
      symbol: "AAPL",
      side: "buy",
      type: "limit",
      timeInForce: "gtc",
      qty: 10n,
      limitPrice: usd("11"),
      stopPrice: null,
      collarPrice: usd("11"),
      replaces: "ord-1",
    });
  });

  test("after the request the old order is pending_replace and the new one pending_new", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ qty: 8n }));
    expect(orderOf(ledger, "ord-1").status).toBe("pending_replace");
    expect(orderOf(ledger, "ord-1").pendingReplace).toEqual({ newOrderId: "ord-2", filledQty: 0n });
    expect(orderOf(ledger, "ord-2").status).toBe("pending_new");
    expect(orderOf(ledger, "ord-2").replaces).toBe("ord-1");
    expect(orderOf(ledger, "ord-2").filledQty).toBe(0n);
    expect([...oldestFirst(accountOf(ledger))].map((order) => order.id)).toEqual(["ord-1", "ord-2"]);
  });

  test("a null qty on a partially filled order means its remaining qty", () => {
    const { ledger } = ledgerWithOrderIn("partially_filled");
    run(ledger, replace({ limitPrice: usd("9") }));
    expect(orderOf(ledger, "ord-2").qty).toBe(6n);
  });

  test("a pending replace that needs more cash holds only the top-up over the old order's hold", () => {
    const { ledger } = ledgerWithOrderIn("new"); // 10 @ $10 holds $100
    run(ledger, replace({ limitPrice: usd("12") }));
    expect(orderOf(ledger, "ord-1").holdCash).toBe(usd("100"));
    expect(orderOf(ledger, "ord-2").holdCash).toBe(usd("20"));
    expect(accountOf(ledger).heldCash).toBe(usd("120"));
  });

  test("a pending replace that needs less cash holds nothing extra and the old hold stays", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("9"), qty: 5n }));
    expect(orderOf(ledger, "ord-2").holdCash).toBe(0n);
    expect(accountOf(ledger).heldCash).toBe(usd("100"));
  });

  test("the top-up over a partially filled order is measured against its remaining hold", () => {
    const { ledger } = ledgerWithOrderIn("partially_filled"); // 6 left @ $10 hold $60
    expect(orderOf(ledger, "ord-1").holdCash).toBe(usd("60"));
    run(ledger, replace({ limitPrice: usd("12") })); // 6 @ $12 = $72
    expect(orderOf(ledger, "ord-2").holdCash).toBe(usd("12"));
    expect(accountOf(ledger).heldCash).toBe(usd("72"));
  });

  test("a buy top-up beyond buying power is failed_precondition", () => {
    const ledger = fundedLedger(usd("110"));
    accept(ledger, submit({ qty: 10n, limitPrice: usd("10") }));
    expect(buyingPower(accountOf(ledger))).toBe(usd("10"));
    expectRejected(decide(ledger, replace({ limitPrice: usd("12") })), "failed_precondition");
    expectEvents(run(ledger, replace({ limitPrice: usd("11") })), ["order_replace_requested"]);
    expect(buyingPower(accountOf(ledger))).toBe(0n);
  });

  test("a sell replace holds only the extra shares, and more than are available is failed_precondition", () => {
    const ledger = ledgerWithShares(10n, usd("10"));
    accept(ledger, submit({ orderId: "ord-1", side: "sell", qty: 4n, limitPrice: usd("11") }));
    expectRejected(decide(ledger, replace({ qty: 11n })), "failed_precondition");
    run(ledger, replace({ qty: 8n }));
    expect(orderOf(ledger, "ord-2").holdQty).toBe(4n);
    expect(positionOf(ledger).heldQty).toBe(8n);
    expect(availableQty(accountOf(ledger), "AAPL")).toBe(2n);
  });
});

describe("the venue's answer to a replace", () => {
  test("a confirmed replace closes the old order and the new one holds its full amount", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("12") }));
    expectEvents(run(ledger, venueReplaced("ord-1", "ord-2")), ["order_replaced"]);
    const old = orderOf(ledger, "ord-1");
    expect(old.status).toBe("replaced");
    expect(old.replacedBy).toBe("ord-2");
    expect(old.holdCash).toBe(0n);
    const replacing = orderOf(ledger, "ord-2");
    expect(replacing.status).toBe("new");
    expect(replacing.holdCash).toBe(usd("120"));
    expect(accountOf(ledger).heldCash).toBe(usd("120"));
  });

  test("a confirmed replace to a lower price releases the difference", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("9") }));
    run(ledger, venueReplaced("ord-1", "ord-2"));
    expect(orderOf(ledger, "ord-2").holdCash).toBe(usd("90"));
    expect(accountOf(ledger).heldCash).toBe(usd("90"));
  });

  test("a confirmed sell replace holds the new qty of shares", () => {
    const ledger = ledgerWithShares(10n, usd("10"));
    accept(ledger, submit({ orderId: "ord-1", side: "sell", qty: 4n, limitPrice: usd("11") }));
    run(ledger, replace({ qty: 3n }));
    run(ledger, venueReplaced("ord-1", "ord-2"));
    expect(orderOf(ledger, "ord-1").holdQty).toBe(0n);
    expect(orderOf(ledger, "ord-2").holdQty).toBe(3n);
    expect(positionOf(ledger).heldQty).toBe(3n);
  });

  test("a replace confirmation after a fill that came between does not replace the order", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("9") }));
    accept(ledger, fill("ord-1", 1, 2n, usd("9")));
    const decision = run(ledger, venueReplaced("ord-1", "ord-2"));
    expect(decision.ok && decision.events.some((event) => event.kind === "order_replaced")).toBe(false);
    expect(orderOf(ledger, "ord-1").status).not.toBe("replaced");
  });

  test("a fill on a pending_replace order keeps it pending_replace", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("9") }));
    accept(ledger, fill("ord-1", 1, 2n, usd("9")));
    expect(orderOf(ledger, "ord-1").status).toBe("pending_replace");
    expect(orderOf(ledger, "ord-1").filledQty).toBe(2n);
  });

  test("a refused replace rejects the new order, releases its top-up and reopens the old one as new", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("12") }));
    expectEvents(run(ledger, venueReplaceRejected("ord-1", "ord-2")), ["order_replace_rejected"]);
    expect(orderOf(ledger, "ord-2").status).toBe("rejected");
    expect(orderOf(ledger, "ord-2").holdCash).toBe(0n);
    expect(orderOf(ledger, "ord-1").status).toBe("new");
    expect(orderOf(ledger, "ord-1").holdCash).toBe(usd("100"));
    expect(accountOf(ledger).heldCash).toBe(usd("100"));
  });

  test("a refused replace of a partially filled order reopens it as partially_filled", () => {
    const { ledger } = ledgerWithOrderIn("partially_filled");
    run(ledger, replace({ limitPrice: usd("12") }));
    run(ledger, venueReplaceRejected("ord-1", "ord-2"));
    expect(orderOf(ledger, "ord-1").status).toBe("partially_filled");
    expect(accountOf(ledger).heldCash).toBe(usd("60"));
  });

  test("a refused replace of an order filled in the meantime leaves it filled", () => {
    const { ledger } = ledgerWithOrderIn("new");
    run(ledger, replace({ limitPrice: usd("12") }));
    accept(ledger, fill("ord-1", 1, 10n, usd("10")));
    expect(orderOf(ledger, "ord-1").status).toBe("filled");
    run(ledger, venueReplaceRejected("ord-1", "ord-2"));
    expect(orderOf(ledger, "ord-1").status).toBe("filled");
    expect(orderOf(ledger, "ord-2").status).toBe("rejected");
    expect(accountOf(ledger).heldCash).toBe(0n);
    expect(accountOf(ledger).cash).toBe(usd("9900"));
  });
});
