import { describe, expect, test } from "bun:test";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import type { VenueReport } from "../../src/venue/venue.ts";
import { dollars, manualVenue, mustQuote, settle, tickTimes, venueOrder, type Harness } from "./venue-harness.ts";

/** A fixed script of calls with ticks and a session close in between. */
async function runScript(harness: Harness): Promise<VenueReport[]> {
  const { venue } = harness;
  const limitPrice = mustQuote(harness).ask - dollars(0.05);
  venue.submit(venueOrder({ orderId: "a", side: "buy", qty: 3000n, timeInForce: "day" }));
  venue.submit(venueOrder({ orderId: "b", side: "sell", qty: 700n, timeInForce: "ioc" }));
  venue.submit(venueOrder({ orderId: "c", side: "buy", type: "limit", qty: 500n, limitPrice, collarPrice: limitPrice }));
  await settle();
  tickTimes(harness, 50);
  harness.venue.closeSession();
  await settle();
  return harness.reports;
}

describe("SimulatedVenue asynchrony and determinism", () => {
  test("no call ever runs the listener on the caller's stack", async () => {
    const harness = manualVenue();
    const limitPrice = mustQuote(harness).ask - dollars(30);
    harness.venue.submit(venueOrder({ orderId: "now", side: "buy", qty: 10n }));
    expect(harness.reports).toHaveLength(0);
    harness.venue.submit(venueOrder({ orderId: "rest", side: "buy", type: "limit", qty: 10n, limitPrice, collarPrice: limitPrice }));
    harness.venue.cancel("now");
    harness.venue.replace("rest", venueOrder({ orderId: "rest-2", side: "buy", qty: 10n }), 0n);
    harness.venue.reconcile([venueOrder({ orderId: "adopted", side: "buy", qty: 10n })]);
    expect(harness.reports).toHaveLength(0);
    await settle();
    expect(harness.reports.map((report) => [report.orderId, report.execution.kind])).toEqual([
      ["now", "fill"],
      ["rest", "replaced"],
      ["rest-2", "fill"],
      ["adopted", "fill"],
    ]);
  });

  test("reports made before anyone listens are held and delivered to the first listener", async () => {
    const venue = new SimulatedVenue({ seed: 1, now: () => 5, manual: true });
    venue.submit(venueOrder({ orderId: "early", side: "buy", qty: 1n }));
    await settle();
    const reports: VenueReport[] = [];
    venue.onReport((report) => reports.push(report));
    await settle();
    expect(reports.map((report) => [report.orderId, report.execution.kind, report.atMs])).toEqual([["early", "fill", 5]]);
  });

  test("the same seed and the same calls give the same reports", async () => {
    const first = await runScript(manualVenue(77));
    const second = await runScript(manualVenue(77));
    expect(first.length).toBeGreaterThan(3);
    expect(first).toEqual(second);
  });

  test("with timers the market moves on its own, and close() stops it", async () => {
    const venue = new SimulatedVenue({ seed: 3, tickMs: 1, now: () => 0 });
    const start = venue.quote("AAPL");
    // Bounded wait for the first moves; a slow machine only makes it wait longer, never fail.
    let moved = false;
    for (let wait = 0; wait < 1000 && !moved; wait++) {
      await new Promise<void>((resolve) => setTimeout(resolve, 2));
      moved = venue.quote("AAPL")?.bid !== start?.bid;
    }
    venue.close();
    const stopped = venue.quote("AAPL");
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    expect(moved).toBe(true);
    expect(venue.quote("AAPL")?.bid).toBe(stopped?.bid ?? -1n);
    expect(venue.quote("AAPL")?.ask).toBe(stopped?.ask ?? -1n);
    expect(() => venue.submit(venueOrder({ orderId: "late", side: "buy", qty: 1n }))).toThrow(/closed venue/);
  });

  test("lists the default symbols when none are given", () => {
    const venue = new SimulatedVenue({ seed: 1, now: () => 0, manual: true });
    expect(venue.symbols()).toEqual(expect.arrayContaining(["AAPL", "MSFT", "SPY", "GOOGL", "AMZN", "TSLA", "NVDA", "META"]));
    expect(venue.quote("NOPE")).toBeUndefined();
  });
});
