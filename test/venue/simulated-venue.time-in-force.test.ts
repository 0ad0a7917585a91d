import { describe, expect, test } from "bun:test";
import { dollars, fillsOf, manualVenue, mustQuote, settle, tickTimes, venueOrder } from "./venue-harness.ts";

describe("SimulatedVenue time in force", () => {
  test("IOC fills what the displayed size allows on arrival and cancels the rest", async () => {
    const harness = manualVenue();
    const { ask } = mustQuote(harness);
    harness.venue.submit(venueOrder({ orderId: "ioc", side: "buy", timeInForce: "ioc", qty: 5000n }));
    await settle();
    tickTimes(harness, 20);
    await settle();
    const executions = harness.reports.map((report) => report.execution);
    expect(executions).toHaveLength(2);
    const fill = executions[0];
    if (fill?.kind !== "fill") throw new Error("expected a fill first");
    expect(fill.seq).toBe(1);
    expect(fill.price).toBe(ask);
    expect(fill.qty).toBeGreaterThan(0n);
    expect(fill.qty).toBeLessThan(5000n);
    expect(executions[1]).toEqual({ kind: "canceled", reason: "ioc remainder" });
  });

  test("IOC that cannot trade on arrival is canceled whole", async () => {
    const harness = manualVenue();
    const limitPrice = mustQuote(harness).ask - dollars(1);
    harness.venue.submit(venueOrder({ orderId: "ioc", side: "buy", type: "limit", timeInForce: "ioc", qty: 10n, limitPrice, collarPrice: limitPrice }));
    await settle();
    expect(harness.reports.map((report) => report.execution)).toEqual([{ kind: "canceled", reason: "ioc remainder" }]);
  });

  test("FOK within the displayed size fills entirely in one execution", async () => {
    const harness = manualVenue();
    const { ask } = mustQuote(harness);
    harness.venue.submit(venueOrder({ orderId: "fok", side: "buy", timeInForce: "fok", qty: 100n }));
    await settle();
    expect(harness.reports.map((report) => report.execution)).toEqual([{ kind: "fill", seq: 1, qty: 100n, price: ask }]);
  });

  test("FOK larger than the displayed size is canceled with no fill", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "fok", side: "buy", timeInForce: "fok", qty: 1001n }));
    await settle();
    tickTimes(harness, 20);
    await settle();
    expect(harness.reports.map((report) => report.execution)).toEqual([{ kind: "canceled", reason: "fok not fillable" }]);
  });

  test("FOK whose limit is not marketable is canceled with no fill", async () => {
    const harness = manualVenue();
    const limitPrice = mustQuote(harness).bid + dollars(1);
    harness.venue.submit(venueOrder({ orderId: "fok", side: "sell", type: "limit", timeInForce: "fok", qty: 100n, limitPrice }));
    await settle();
    expect(harness.reports.map((report) => report.execution)).toEqual([{ kind: "canceled", reason: "fok not fillable" }]);
  });

  test("session close expires working DAY orders and leaves GTC orders working", async () => {
    const harness = manualVenue();
    const limitPrice = mustQuote(harness).ask - dollars(30);
    const resting = { side: "buy", type: "limit", qty: 10n, limitPrice, collarPrice: limitPrice } as const;
    harness.venue.submit(venueOrder({ ...resting, orderId: "day", timeInForce: "day" }));
    harness.venue.submit(venueOrder({ ...resting, orderId: "gtc", timeInForce: "gtc" }));
    await settle();
    harness.clock.ms = 600_000;
    harness.venue.closeSession();
    await settle();
    expect(harness.reports).toEqual([{ accountId: "acct-1", orderId: "day", execution: { kind: "expired" }, atMs: 600_000 }]);
    harness.venue.cancel("gtc");
    harness.venue.cancel("day");
    await settle();
    expect(harness.reports.slice(1).map((report) => [report.orderId, report.execution])).toEqual([
      ["gtc", { kind: "canceled", reason: "canceled by client" }],
    ]);
  });

  test("a DAY order that filled before the close is not expired", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "day", side: "buy", timeInForce: "day", qty: 10n }));
    await settle();
    harness.venue.closeSession();
    await settle();
    expect(fillsOf(harness.reports, "day")).toHaveLength(1);
    expect(harness.reports).toHaveLength(1);
  });
});
