import { describe, expect, test } from "bun:test";
import { dollars, fillsOf, manualVenue, mustQuote, settle, tickTimes, venueOrder } from "./venue-harness.ts";

describe("SimulatedVenue reconcile", () => {
  test("an adopted order is worked as it was and its fills continue from lastExecutionSeq", async () => {
    const harness = manualVenue();
    const { ask } = mustQuote(harness);
    harness.venue.reconcile([venueOrder({ orderId: "adopted", side: "buy", qty: 50n, lastExecutionSeq: 3 })]);
    await settle();
    expect(fillsOf(harness.reports, "adopted")).toEqual([{ seq: 4, qty: 50n, price: ask, atMs: 0 }]);
  });

  test("an order still working here is not adopted again, so its shares never fill twice", async () => {
    const harness = manualVenue();
    const order = venueOrder({ orderId: "big", side: "buy", qty: 5000n });
    harness.venue.submit(order);
    await settle();
    harness.venue.reconcile([order]);
    await settle();
    expect(harness.reports).toHaveLength(1);
    tickTimes(harness, 30);
    await settle();
    const fills = fillsOf(harness.reports, "big");
    expect(fills.map((fill) => fill.seq)).toEqual(fills.map((_, index) => index + 1));
    expect(fills.reduce((total, fill) => total + fill.qty, 0n)).toBe(5000n);
  });

  test("an adopted order with no fill since adoption takes the OMS's executed qty and can be replaced", async () => {
    const harness = manualVenue();
    const limitPrice = mustQuote(harness).ask - dollars(30);
    const resting = { side: "buy", type: "limit", limitPrice, collarPrice: limitPrice } as const;
    harness.venue.reconcile([venueOrder({ ...resting, orderId: "adopted", qty: 40n, lastExecutionSeq: 2 })]);
    await settle();
    harness.venue.replace("adopted", venueOrder({ ...resting, orderId: "new", qty: 30n }), 60n);
    await settle();
    expect(harness.reports.map((report) => [report.orderId, report.execution])).toEqual([["adopted", { kind: "replaced", newOrderId: "new" }]]);
  });

  test("an adopted order that filled since adoption refuses a replace: its executed qty is no longer known exactly", async () => {
    const harness = manualVenue();
    harness.venue.reconcile([venueOrder({ orderId: "adopted", side: "buy", qty: 5000n, lastExecutionSeq: 1 })]);
    await settle();
    harness.venue.replace("adopted", venueOrder({ orderId: "new", side: "buy", qty: 1n }), 100n);
    await settle();
    expect(harness.reports.at(-1)).toMatchObject({ orderId: "adopted", execution: { kind: "replace_rejected", newOrderId: "new" } });
  });

  test("a reconcile listing one order twice is refused as a bug", () => {
    const harness = manualVenue();
    const order = venueOrder({ orderId: "twice", side: "buy", qty: 1n });
    expect(() => harness.venue.reconcile([order, order])).toThrow(/listed once/);
  });
});
