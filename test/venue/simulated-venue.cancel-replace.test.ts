import { describe, expect, test } from "bun:test";
import { dollars, fillsOf, manualVenue, mustQuote, settle, tickTimes, venueOrder } from "./venue-harness.ts";

describe("SimulatedVenue cancel", () => {
  test("canceling a working order reports it canceled and it never fills afterwards", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "big", side: "buy", qty: 5000n }));
    await settle();
    const filledBefore = fillsOf(harness.reports, "big").length;
    harness.venue.cancel("big");
    await settle();
    tickTimes(harness, 20);
    await settle();
    expect(filledBefore).toBe(1);
    expect(harness.reports.map((report) => report.execution.kind)).toEqual(["fill", "canceled"]);
    expect(harness.reports[1]?.execution).toEqual({ kind: "canceled", reason: "canceled by client" });
  });

  test("canceling an unknown or already filled order reports nothing", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "small", side: "buy", qty: 1n }));
    await settle();
    harness.venue.cancel("small");
    harness.venue.cancel("never-seen");
    await settle();
    expect(harness.reports.map((report) => report.execution.kind)).toEqual(["fill"]);
  });
});

describe("SimulatedVenue replace", () => {
  test("a replace with no fill in between swaps the orders: replaced on the old id, then the new one works", async () => {
    const harness = manualVenue();
    const { ask } = mustQuote(harness);
    const farLimit = ask - dollars(30);
    harness.venue.submit(venueOrder({ orderId: "old", side: "buy", type: "limit", qty: 10n, limitPrice: farLimit, collarPrice: farLimit }));
    await settle();
    const nearLimit = ask + dollars(1);
    harness.venue.replace("old", venueOrder({ orderId: "new", side: "buy", type: "limit", qty: 20n, limitPrice: nearLimit, collarPrice: nearLimit }), 0n);
    await settle();
    expect(harness.reports.map((report) => [report.orderId, report.execution])).toEqual([
      ["old", { kind: "replaced", newOrderId: "new" }],
      ["new", { kind: "fill", seq: 1, qty: 20n, price: ask }],
    ]);
    harness.venue.cancel("old");
    await settle();
    expect(harness.reports).toHaveLength(2);
  });

  test("a replace is rejected when the old order filled since the OMS looked, and the old order keeps working", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "old", side: "buy", qty: 5000n }));
    await settle();
    const executedQty = fillsOf(harness.reports, "old")[0]?.qty ?? 0n;
    harness.venue.replace("old", venueOrder({ orderId: "new", side: "buy", qty: 1n }), 0n);
    await settle();
    expect(harness.reports[1]).toMatchObject({
      orderId: "old",
      execution: { kind: "replace_rejected", newOrderId: "new", reason: `order has executed ${executedQty} shares, not the 0 expected` },
    });
    tickTimes(harness, 1);
    await settle();
    expect(fillsOf(harness.reports, "old").map((fill) => fill.seq)).toEqual([1, 2]);
    expect(fillsOf(harness.reports, "new")).toEqual([]);
  });

  test("a replace that states the executed qty exactly succeeds after partial fills", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "old", side: "buy", qty: 5000n }));
    await settle();
    tickTimes(harness, 1);
    await settle();
    const executedQty = fillsOf(harness.reports, "old").reduce((total, fill) => total + fill.qty, 0n);
    harness.venue.replace("old", venueOrder({ orderId: "new", side: "buy", type: "limit", qty: 5n, limitPrice: dollars(1), collarPrice: dollars(1) }), executedQty);
    await settle();
    expect(harness.reports.at(-1)).toMatchObject({ orderId: "old", execution: { kind: "replaced", newOrderId: "new" } });
  });

  test("replacing an order that is no longer working is rejected on the old order id", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "done", side: "buy", qty: 1n }));
    await settle();
    harness.venue.replace("done", venueOrder({ orderId: "new", side: "buy", qty: 2n }), 1n);
    await settle();
    expect(harness.reports[1]).toMatchObject({ orderId: "done", execution: { kind: "replace_rejected", newOrderId: "new" } });
    expect(harness.reports).toHaveLength(2);
  });

  test("a replacement for another symbol is rejected and the old order keeps working", async () => {
    const harness = manualVenue(7, [{ symbol: "AAPL", price: dollars(100) }, { symbol: "MSFT", price: dollars(400) }]);
    const limitPrice = dollars(50);
    harness.venue.submit(venueOrder({ orderId: "old", side: "buy", type: "limit", qty: 1n, limitPrice, collarPrice: limitPrice }));
    await settle();
    harness.venue.replace("old", venueOrder({ orderId: "new", symbol: "MSFT", side: "buy", qty: 1n }), 0n);
    harness.venue.cancel("old");
    await settle();
    expect(harness.reports.map((report) => [report.orderId, report.execution])).toEqual([
      ["old", { kind: "replace_rejected", newOrderId: "new", reason: "a replacement must keep the order's account, symbol and side" }],
      ["old", { kind: "canceled", reason: "canceled by client" }],
    ]);
  });
});
