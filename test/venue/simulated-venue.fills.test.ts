import { describe, expect, test } from "bun:test";
import { CENT, dollars, fillsOf, manualVenue, mustQuote, settle, tickTimes, venueOrder } from "./venue-harness.ts";

const TICKS_MAX = 3000;

/** The first tick (by number) at which the quote met the condition; 0 is the quote on arrival. */
function firstTickWhere<T>(quotes: readonly T[], condition: (quote: T) => boolean): number {
  const tick = quotes.findIndex(condition);
  if (tick < 0) throw new Error("the market never met the condition within the ticks run");
  return tick;
}

describe("SimulatedVenue fills", () => {
  test("a market buy fills at the ask and a market sell at the bid, stamped by the injected clock", async () => {
    const harness = manualVenue();
    const quote = mustQuote(harness);
    harness.clock.ms = 1_700_000_000_000;
    harness.venue.submit(venueOrder({ orderId: "buy-1", side: "buy", qty: 10n }));
    harness.venue.submit(venueOrder({ orderId: "sell-1", side: "sell", qty: 10n }));
    await settle();
    expect(harness.reports).toEqual([
      { accountId: "acct-1", orderId: "buy-1", execution: { kind: "fill", seq: 1, qty: 10n, price: quote.ask }, atMs: 1_700_000_000_000 },
      { accountId: "acct-1", orderId: "sell-1", execution: { kind: "fill", seq: 1, qty: 10n, price: quote.bid }, atMs: 1_700_000_000_000 },
    ]);
    expect(mustQuote(harness).last).toBe(quote.bid);
  });

  test("an order larger than the displayed size fills over several ticks, seq rising from 1, adding up to its qty", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "big", side: "buy", qty: 5000n }));
    await settle();
    const quotes = tickTimes(harness, 30);
    await settle();
    const fills = fillsOf(harness.reports, "big");
    expect(fills.length).toBeGreaterThanOrEqual(5);
    expect(fills.map((fill) => fill.seq)).toEqual(fills.map((_, index) => index + 1));
    expect(fills.reduce((total, fill) => total + fill.qty, 0n)).toBe(5000n);
    for (const fill of fills) {
      expect(fill.qty).toBeLessThanOrEqual(1000n);
      expect(fill.price).toBe(quotes[fill.atMs]?.ask ?? -1n);
    }
    expect(harness.reports.length).toBe(fills.length);
  });

  test("a buy waits while the ask is above its collar and fills at the ask once it is not", async () => {
    const harness = manualVenue(21);
    const collarPrice = mustQuote(harness).ask - 5n * CENT;
    harness.venue.submit(venueOrder({ orderId: "collared", side: "buy", qty: 100n, collarPrice }));
    await settle();
    expect(harness.reports).toEqual([]);
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const fills = fillsOf(harness.reports, "collared");
    expect(fills).toHaveLength(1);
    const tick = firstTickWhere(quotes, (quote) => quote.ask <= collarPrice);
    expect(fills[0]?.atMs).toBe(tick);
    expect(fills[0]?.price).toBe(quotes[tick]?.ask ?? -1n);
    expect(fills[0]?.price ?? collarPrice + 1n).toBeLessThanOrEqual(collarPrice);
  });

  test("a limit buy rests until the ask comes down to its limit, then fills at the ask", async () => {
    const harness = manualVenue(4);
    const limitPrice = mustQuote(harness).ask - 3n * CENT;
    harness.venue.submit(venueOrder({ orderId: "limit-buy", side: "buy", type: "limit", qty: 100n, limitPrice, collarPrice: limitPrice }));
    await settle();
    expect(harness.reports).toEqual([]);
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const tick = firstTickWhere(quotes, (quote) => quote.ask <= limitPrice);
    expect(fillsOf(harness.reports, "limit-buy")).toEqual([{ seq: 1, qty: 100n, price: quotes[tick]?.ask ?? -1n, atMs: tick }]);
  });

  test("a limit sell rests until the bid rises to its limit, then fills at the bid", async () => {
    const harness = manualVenue(4);
    const limitPrice = mustQuote(harness).bid + 3n * CENT;
    harness.venue.submit(venueOrder({ orderId: "limit-sell", side: "sell", type: "limit", qty: 100n, limitPrice }));
    await settle();
    expect(harness.reports).toEqual([]);
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const tick = firstTickWhere(quotes, (quote) => quote.bid >= limitPrice);
    expect(fillsOf(harness.reports, "limit-sell")).toEqual([{ seq: 1, qty: 100n, price: quotes[tick]?.bid ?? -1n, atMs: tick }]);
  });

  test("a buy stop triggers when the ask reaches the stop and then fills as a market order", async () => {
    const harness = manualVenue(9);
    const stopPrice = mustQuote(harness).ask + 4n * CENT;
    harness.venue.submit(venueOrder({ orderId: "stop-buy", side: "buy", type: "stop", qty: 100n, stopPrice, collarPrice: dollars(200) }));
    await settle();
    expect(harness.reports).toEqual([]);
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const tick = firstTickWhere(quotes, (quote) => quote.ask >= stopPrice);
    expect(fillsOf(harness.reports, "stop-buy")).toEqual([{ seq: 1, qty: 100n, price: quotes[tick]?.ask ?? -1n, atMs: tick }]);
  });

  test("a sell stop triggers when the bid falls to the stop and then fills at the bid", async () => {
    const harness = manualVenue(9);
    const stopPrice = mustQuote(harness).bid - 4n * CENT;
    harness.venue.submit(venueOrder({ orderId: "stop-sell", side: "sell", type: "stop", qty: 100n, stopPrice }));
    await settle();
    expect(harness.reports).toEqual([]);
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const tick = firstTickWhere(quotes, (quote) => quote.bid <= stopPrice);
    expect(fillsOf(harness.reports, "stop-sell")).toEqual([{ seq: 1, qty: 100n, price: quotes[tick]?.bid ?? -1n, atMs: tick }]);
  });

  test("a triggered stop-limit buy fills only while the ask is at or below its limit", async () => {
    const harness = manualVenue(13);
    const start = mustQuote(harness).ask;
    const stopPrice = start + 2n * CENT;
    const limitPrice = start - 2n * CENT;
    const order = { orderId: "stop-limit", side: "buy", type: "stop_limit", qty: 100n, stopPrice, limitPrice, collarPrice: limitPrice } as const;
    harness.venue.submit(venueOrder(order));
    await settle();
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const triggered = firstTickWhere(quotes, (quote) => quote.ask >= stopPrice);
    const tick = triggered + firstTickWhere(quotes.slice(triggered), (quote) => quote.ask <= limitPrice);
    expect(tick).toBeGreaterThan(triggered);
    expect(fillsOf(harness.reports, "stop-limit")).toEqual([{ seq: 1, qty: 100n, price: quotes[tick]?.ask ?? -1n, atMs: tick }]);
  });

  test("an order in a symbol the venue does not list is rejected", async () => {
    const harness = manualVenue();
    harness.venue.submit(venueOrder({ orderId: "nope", symbol: "ZZZZ", side: "buy", qty: 1n }));
    await settle();
    expect(harness.reports.map((report) => report.execution)).toEqual([{ kind: "rejected", reason: "unknown symbol ZZZZ" }]);
  });

  test("a malformed order is refused on the caller's stack as a bug", () => {
    const harness = manualVenue();
    expect(() => harness.venue.submit(venueOrder({ orderId: "zero", side: "buy", qty: 0n }))).toThrow(/must be positive/);
    expect(() => harness.venue.submit(venueOrder({ orderId: "lim", side: "buy", type: "limit", qty: 1n }))).toThrow(/needs limit price/);
  });
});
