// submit_order: validation of terms, the buy collar, the hold taken at acceptance, and
// idempotent resubmission by client order id.
import { describe, expect, test } from "bun:test";
import { availableQty, buyingPower } from "../../src/core/account.ts";
import type { SubmitOrder } from "../../src/core/command.ts";
import type { OrderAccepted } from "../../src/core/event.ts";
import { apply, decide } from "../../src/core/state-machine.ts";
import { oldestFirst, hotOrderCount } from "../../src/core/order-list.ts";
import {
  accountOf,
  ACCOUNT_ID,
  canonical,
  expectEvents,
  expectRejected,
  fill,
  fundedLedger,
  ledgerWithShares,
  orderOf,
  positionOf,
  replace,
  run,
  submit,
  usd,
} from "./fixtures.ts";

describe("submit_order validation", () => {
  test("an unknown account is not_found naming account_id", () => {
    expectRejected(decide(new Map(), submit()), "not_found", "account_id");
  });

  test.each([0n, -1n])("qty %p is invalid_argument naming qty", (qty) => {
    expectRejected(decide(fundedLedger(), submit({ qty })), "invalid_argument", "qty");
  });

  const inconsistentPrices: [string, Partial<SubmitOrder>, string][] = [
    ["market with a limit price", { type: "market", limitPrice: usd("10"), stopPrice: null }, "limit_price"],
    ["market with a stop price", { type: "market", limitPrice: null, stopPrice: usd("10") }, "stop_price"],
    ["limit without a limit price", { type: "limit", limitPrice: null, stopPrice: null }, "limit_price"],
    ["limit with a stop price", { type: "limit", limitPrice: usd("10"), stopPrice: usd("9") }, "stop_price"],
    ["stop without a stop price", { type: "stop", limitPrice: null, stopPrice: null }, "stop_price"],
    ["stop with a limit price", { type: "stop", limitPrice: usd("10"), stopPrice: usd("9") }, "limit_price"],
    ["stop_limit without a limit price", { type: "stop_limit", limitPrice: null, stopPrice: usd("9") }, "limit_price"],
    ["stop_limit without a stop price", { type: "stop_limit", limitPrice: usd("10"), stopPrice: null }, "stop_price"],
    ["a zero limit price", { type: "limit", limitPrice: 0n }, "limit_price"],
    ["a negative limit price", { type: "limit", limitPrice: -100n }, "limit_price"],
    ["a zero stop price", { type: "stop", limitPrice: null, stopPrice: 0n }, "stop_price"],
    ["a negative stop price on a stop_limit", { type: "stop_limit", limitPrice: usd("10"), stopPrice: -1n }, "stop_price"],
  ];
  test.each(inconsistentPrices)("%s is invalid_argument naming the price field", (_name, fields, field) => {
    expectRejected(decide(fundedLedger(), submit(fields)), "invalid_argument", field);
  });

  test.each([
    ["1.005", "limit_price"],
    ["1.0001", "limit_price"],
    ["189.255", "limit_price"],
  ])("a limit price of $%s (sub-penny at or above $1) is invalid_argument", (price, field) => {
    expectRejected(decide(fundedLedger(), submit({ limitPrice: usd(price) })), "invalid_argument", field);
  });

  test("a sub-penny stop price at or above $1 is invalid_argument naming stop_price", () => {
    const command = submit({ type: "stop", limitPrice: null, stopPrice: usd("1.005") });
    expectRejected(decide(fundedLedger(), command), "invalid_argument", "stop_price");
  });

  test("a sub-penny stop price on a stop_limit is invalid_argument naming stop_price", () => {
    const command = submit({ type: "stop_limit", limitPrice: usd("2"), stopPrice: usd("2.001") });
    expectRejected(decide(fundedLedger(), command), "invalid_argument", "stop_price");
  });

  test.each(["0.0051", "0.9999", "1.01", "1", "189.25"])("a limit price of $%s is accepted", (price) => {
    expectEvents(run(fundedLedger(), submit({ limitPrice: usd(price) })), ["order_accepted"]);
  });

  test.each([
    ["stop", "ioc"],
    ["stop", "fok"],
    ["stop_limit", "ioc"],
    ["stop_limit", "fok"],
  ] as const)("a %s order with %s is invalid_argument naming time_in_force", (type, timeInForce) => {
    const command = submit({ type, timeInForce, limitPrice: type === "stop" ? null : usd("10"), stopPrice: usd("9") });
    expectRejected(decide(fundedLedger(), command), "invalid_argument", "time_in_force");
  });

  test.each([
    ["limit", "ioc"],
    ["limit", "fok"],
    ["market", "ioc"],
    ["market", "fok"],
    ["stop", "gtc"],
    ["stop_limit", "day"],
  ] as const)("a %s order with %s is accepted", (type, timeInForce) => {
    const command = submit({
      type,
      timeInForce,
      limitPrice: type === "limit" || type === "stop_limit" ? usd("10") : null,
      stopPrice: type === "stop" || type === "stop_limit" ? usd("9") : null,
    });
    expectEvents(run(fundedLedger(), command), ["order_accepted"]);
  });
});

describe("submit_order collar: the most a buy may pay per share", () => {
  function acceptedCollar(command: SubmitOrder): bigint | null {
    const events = expectEvents(decide(fundedLedger(usd("1000000")), command), ["order_accepted"]);
    return (events[0] as OrderAccepted).terms.collarPrice;
  }

  test.each([
    ["10", "10.4"], // 4% below $50, already on the tick
    ["10.01", "10.42"], // 10.4104 rounds up to the next cent
    ["49.99", "51.99"], // 51.9896 rounds up; still the 4% band
    ["50", "51.25"], // $50 is in the 2.5% band
    ["100.01", "102.52"], // 102.51025 rounds up
    ["0.5", "0.52"],
    ["0.1234", "0.1284"], // 0.128336 rounds up to the $0.0001 tick below $1
  ])("a market buy with ask $%s has collar $%s", (ask, collar) => {
    const command = submit({ type: "market", limitPrice: null, stopPrice: null, askPrice: usd(ask) });
    expect(acceptedCollar(command)).toBe(usd(collar));
  });

  test.each([
    ["20", "20.8"],
    ["60", "61.5"],
    ["10.01", "10.42"],
  ])("a stop buy with stop $%s has collar $%s whatever the ask", (stop, collar) => {
    const command = submit({ type: "stop", limitPrice: null, stopPrice: usd(stop), askPrice: usd("3") });
    expect(acceptedCollar(command)).toBe(usd(collar));
  });

  test("a limit buy's collar is its limit price, not the ask", () => {
    expect(acceptedCollar(submit({ limitPrice: usd("12.34"), askPrice: usd("99") }))).toBe(usd("12.34"));
  });

  test("a stop_limit buy's collar is its limit price", () => {
    const command = submit({ type: "stop_limit", limitPrice: usd("11"), stopPrice: usd("10.5") });
    expect(acceptedCollar(command)).toBe(usd("11"));
  });

  test.each(["market", "limit"] as const)("a %s sell has no collar", (type) => {
    const ledger = ledgerWithShares(10n, usd("10"));
    const command = submit({ orderId: "sell-1", side: "sell", type, limitPrice: type === "limit" ? usd("10") : null });
    const events = expectEvents(decide(ledger, command), ["order_accepted"]);
    expect((events[0] as OrderAccepted).terms.collarPrice).toBeNull();
  });
});

describe("submit_order holds", () => {
  test("an accepted buy is new, unfilled, and holds qty × collar of cash", () => {
    const ledger = fundedLedger(usd("1000"));
    const events = expectEvents(run(ledger, submit({ qty: 7n, limitPrice: usd("12.5") })), ["order_accepted"]);
    expect(events[0]).toMatchObject({ kind: "order_accepted", holdCash: usd("87.5"), holdQty: 0n });
    const order = orderOf(ledger, "ord-1");
    expect(order.status).toBe("new");
    expect(order.filledQty).toBe(0n);
    expect(order.holdCash).toBe(usd("87.5"));
    expect(accountOf(ledger).heldCash).toBe(usd("87.5"));
    expect(accountOf(ledger).cash).toBe(usd("1000"));
    expect(buyingPower(accountOf(ledger))).toBe(usd("912.5"));
    expect([...oldestFirst(accountOf(ledger))].map((order) => order.id)).toEqual(["ord-1"]);
  });

  test("a market buy holds qty × the collar above the ask", () => {
    const ledger = fundedLedger(usd("1000"));
    run(ledger, submit({ type: "market", limitPrice: null, qty: 3n, askPrice: usd("10.01") }));
    expect(accountOf(ledger).heldCash).toBe(3n * usd("10.42"));
  });

  test("a buy needing exactly the buying power is accepted", () => {
    const ledger = fundedLedger(usd("100"));
    expectEvents(run(ledger, submit({ qty: 10n, limitPrice: usd("10") })), ["order_accepted"]);
    expect(buyingPower(accountOf(ledger))).toBe(0n);
  });

  test("a buy needing one unit more than buying power is failed_precondition mentioning buying power", () => {
    const ledger = fundedLedger(usd("99.9999"));
    const message = expectRejected(decide(ledger, submit({ qty: 10n, limitPrice: usd("10") })), "failed_precondition");
    expect(message).toContain("buying power");
    expect(hotOrderCount(accountOf(ledger))).toBe(0);
  });

  test("buying power already held by an open buy is not available to the next buy", () => {
    const ledger = fundedLedger(usd("150"));
    run(ledger, submit({ orderId: "ord-1", qty: 10n, limitPrice: usd("10") }));
    const message = expectRejected(decide(ledger, submit({ orderId: "ord-2", qty: 6n, limitPrice: usd("10") })), "failed_precondition");
    expect(message).toContain("buying power");
    expectEvents(run(ledger, submit({ orderId: "ord-3", qty: 5n, limitPrice: usd("10") })), ["order_accepted"]);
    expect(accountOf(ledger).heldCash).toBe(usd("150"));
  });

  test("an accepted sell holds its qty of shares and no cash", () => {
    const ledger = ledgerWithShares(10n, usd("10"));
    const heldCashBefore = accountOf(ledger).heldCash;
    const events = expectEvents(
      run(ledger, submit({ orderId: "sell-1", side: "sell", qty: 4n, limitPrice: usd("11") })),
      ["order_accepted"],
    );
    expect(events[0]).toMatchObject({ holdQty: 4n, holdCash: 0n });
    expect(positionOf(ledger).heldQty).toBe(4n);
    expect(positionOf(ledger).qty).toBe(10n);
    expect(availableQty(accountOf(ledger), "AAPL")).toBe(6n);
    expect(accountOf(ledger).heldCash).toBe(heldCashBefore);
    expect(orderOf(ledger, "sell-1").status).toBe("new");
  });

  test("a sell of a symbol never held is failed_precondition with requested and available qty", () => {
    const message = expectRejected(decide(fundedLedger(), submit({ side: "sell", qty: 5n })), "failed_precondition");
    expect(message).toBe("insufficient qty available for order (requested: 5, available: 0)");
  });

  test("a sell beyond the shares not already held by other sells is failed_precondition", () => {
    const ledger = ledgerWithShares(10n, usd("10"));
    run(ledger, submit({ orderId: "sell-1", side: "sell", qty: 4n, limitPrice: usd("11") }));
    const message = expectRejected(
      decide(ledger, submit({ orderId: "sell-2", side: "sell", qty: 7n, limitPrice: usd("11") })),
      "failed_precondition",
    );
    expect(message).toBe("insufficient qty available for order (requested: 7, available: 6)");
    expectEvents(run(ledger, submit({ orderId: "sell-3", side: "sell", qty: 6n, type: "market", limitPrice: null })), [
      "order_accepted",
    ]);
    expect(positionOf(ledger).heldQty).toBe(10n);
  });
});

describe("submit_order idempotency by client order id", () => {
  test("resubmitting the same content is a duplicate of the first order, even with a new order id and ask", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7", type: "market", limitPrice: null, askPrice: usd("10") }));
    const before = canonical(ledger);
    const again = submit({ orderId: "ord-2", clientOrderId: "client-7", type: "market", limitPrice: null, askPrice: usd("11") });
    const decision = decide(ledger, again);
    expect(decision).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    expect(canonical(ledger)).toBe(before);
  });

  const changedContent: [string, Partial<SubmitOrder>][] = [
    ["symbol", { symbol: "MSFT" }],
    ["side", { side: "sell" }],
    ["type", { type: "stop_limit", stopPrice: usd("9") }],
    ["time in force", { timeInForce: "gtc" }],
    ["qty", { qty: 11n }],
    ["limit price", { limitPrice: usd("10.01") }],
  ];
  test.each(changedContent)("reusing a client order id with a different %s is already_exists naming client_order_id", (_name, fields) => {
    const ledger = ledgerWithShares(20n, usd("10"));
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7" }));
    const decision = decide(ledger, submit({ orderId: "ord-2", clientOrderId: "client-7", ...fields }));
    expectRejected(decision, "already_exists", "client_order_id");
  });

  test("reusing a client order id with a different stop price is already_exists", () => {
    const ledger = fundedLedger();
    const stop = { type: "stop", limitPrice: null } as const;
    run(ledger, submit({ ...stop, orderId: "ord-1", clientOrderId: "client-7", stopPrice: usd("9") }));
    const decision = decide(ledger, submit({ ...stop, orderId: "ord-2", clientOrderId: "client-7", stopPrice: usd("9.5") }));
    expectRejected(decision, "already_exists", "client_order_id");
  });

  test("a submit reusing a replacement order's client order id is already_exists, even with the replacement's terms", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7" }));
    run(ledger, replace({ limitPrice: usd("9"), clientOrderId: "client-r" }));
    const before = canonical(ledger);
    const decision = decide(ledger, submit({ orderId: "ord-3", clientOrderId: "client-r", limitPrice: usd("9") }));
    expectRejected(decision, "already_exists", "client_order_id");
    expect(canonical(ledger)).toBe(before);
  });

  // A client order id that is its order's own id is found through the order, not an index
  // entry (orderByClientOrderId): these pin that the fallback answers as an entry would.
  test("resubmitting an order that named no client order id (its client order id is its order id) is a duplicate", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1" }));
    expect(accountOf(ledger).orderIdsByDistinctClientOrderId.size).toBe(0);
    expect(decide(ledger, submit({ orderId: "ord-2", clientOrderId: "ord-1" }))).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    expectRejected(decide(ledger, submit({ orderId: "ord-2", clientOrderId: "ord-1", qty: 11n })), "already_exists", "client_order_id");
  });

  test("a client order id equal to the id of an order that carries another client order id is free", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7" }));
    expectEvents(decide(ledger, submit({ orderId: "ord-2", clientOrderId: "ord-1" })), ["order_accepted"]);
    run(ledger, submit({ orderId: "ord-2", clientOrderId: "ord-1", qty: 3n }));
    // From now on that client order id names ord-2, and resubmitting it is ord-2's duplicate.
    expect(decide(ledger, submit({ orderId: "ord-3", clientOrderId: "ord-1", qty: 3n }))).toEqual({ ok: true, events: [], duplicateOf: "ord-2" });
    expect(decide(ledger, submit({ orderId: "ord-3", clientOrderId: "client-7" }))).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
  });

  test("a new order id that is taken is already_exists naming order_id, also when it is the client order id", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7" }));
    expectRejected(decide(ledger, submit({ orderId: "ord-1", clientOrderId: "ord-1" })), "already_exists", "order_id");
    expectRejected(decide(ledger, submit({ orderId: "ord-1", clientOrderId: "client-8" })), "already_exists", "order_id");
  });

  test("applying an accepted order whose id is taken is a broken invariant, not a second order", () => {
    const ledger = fundedLedger();
    const [accepted] = expectEvents(decide(ledger, submit({ orderId: "ord-1" })), ["order_accepted"]);
    apply(ledger, ACCOUNT_ID, accepted!);
    expect(() => apply(ledger, ACCOUNT_ID, accepted!)).toThrow("invariant: order ord-1 created twice");
  });

  test("a duplicate stays a duplicate after the first order was filled", () => {
    const ledger = fundedLedger();
    run(ledger, submit({ orderId: "ord-1", clientOrderId: "client-7" }));
    run(ledger, fill("ord-1", 1, 10n, usd("10")));
    expect(orderOf(ledger, "ord-1").status).toBe("filled");
    expect(decide(ledger, submit({ orderId: "ord-9", clientOrderId: "client-7" }))).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
  });
});
