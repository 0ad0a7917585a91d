import { describe, expect, test } from "bun:test";
import { CENT, dollars, fillsOf, manualVenue, mustQuote, settle, tickTimes, venueOrder, type Harness } from "./venue-harness.ts";

const TICKS_MAX = 3000;
const FAR_ORDERS_PER_KIND = 2500;
/** A tick looks at two queues per side (stops, then the rest) and each stops at one order. */
const QUEUE_ENDS_PER_SYMBOL = 4;

/** 10,000 orders no tick within TICKS_MAX can trade or trigger: limits and stops dollars away. */
async function restFarFromTheMarket(harness: Harness): Promise<void> {
  for (let index = 0; index < FAR_ORDERS_PER_KIND; index++) {
    const low = dollars(1);
    harness.venue.submit(venueOrder({ orderId: `far-buy-${index}`, side: "buy", type: "limit", qty: 10n, limitPrice: low, collarPrice: low }));
    harness.venue.submit(venueOrder({ orderId: `far-sell-${index}`, side: "sell", type: "limit", qty: 10n, limitPrice: dollars(1000) }));
    harness.venue.submit(venueOrder({ orderId: `far-buy-stop-${index}`, side: "buy", type: "stop", qty: 10n, stopPrice: dollars(500), collarPrice: dollars(520) }));
    harness.venue.submit(venueOrder({ orderId: `far-sell-stop-${index}`, side: "sell", type: "stop", qty: 10n, stopPrice: dollars(2) }));
  }
  await settle();
}

describe("SimulatedVenue resting orders", () => {
  test("a tick looks at the few orders that can trade, not at the 10,000 resting far from the market", async () => {
    const harness = manualVenue(4);
    await restFarFromTheMarket(harness);
    const limitPrice = mustQuote(harness).ask - CENT;
    const near = ["near-1", "near-2", "near-3"];
    for (const orderId of near) {
      harness.venue.submit(venueOrder({ orderId, side: "buy", type: "limit", qty: 10n, limitPrice, collarPrice: limitPrice }));
    }
    await settle();
    expect(harness.reports).toEqual([]);

    const examined: number[] = [0];
    const quotes = [mustQuote(harness)];
    for (let tick = 1; tick <= TICKS_MAX && !quotes.some((quote) => quote.ask <= limitPrice); tick++) {
      harness.clock.ms = tick;
      harness.venue.tick();
      quotes.push(mustQuote(harness));
      examined.push(harness.venue.ordersExaminedLastTick);
    }
    await settle();
    const fillTick = quotes.findIndex((quote) => quote.ask <= limitPrice);
    expect(fillTick).toBeGreaterThan(0);
    for (const [tick, count] of examined.entries()) {
      expect(count).toBeLessThanOrEqual(tick === fillTick ? near.length + QUEUE_ENDS_PER_SYMBOL : QUEUE_ENDS_PER_SYMBOL);
    }
    for (const orderId of near) {
      expect(fillsOf(harness.reports, orderId)).toEqual([{ seq: 1, qty: 10n, price: quotes[fillTick]?.ask ?? -1n, atMs: fillTick }]);
    }
    expect(harness.reports.map((report) => report.orderId)).toEqual(near);
  });

  test("shares shown go first to orders that take any price, then to the best limit, then to the earliest at a price", async () => {
    const harness = manualVenue();
    const { ask } = mustQuote(harness);
    const limit = (orderId: string, qty: bigint, limitPrice: bigint) =>
      venueOrder({ orderId, side: "buy", type: "limit", qty, limitPrice, collarPrice: limitPrice });
    // Marketable on arrival and larger than anything shown: it takes the offer and rests.
    harness.venue.submit(limit("early-low", 100_000n, ask + dollars(1)));
    await settle();
    harness.venue.submit(limit("late-high-1", 1n, ask + dollars(2)));
    harness.venue.submit(venueOrder({ orderId: "late-market", side: "buy", qty: 1n }));
    harness.venue.submit(limit("late-high-2", 1n, ask + dollars(2)));
    await settle();
    expect(harness.reports.map((report) => report.orderId)).toEqual(["early-low"]);
    const quotes = tickTimes(harness, 1);
    await settle();
    expect(harness.reports.slice(1).map((report) => report.orderId)).toEqual(["late-market", "late-high-1", "late-high-2", "early-low"]);
    for (const orderId of ["late-market", "late-high-1", "late-high-2"]) {
      expect(fillsOf(harness.reports, orderId)).toEqual([{ seq: 1, qty: 1n, price: quotes[1]?.ask ?? -1n, atMs: 1 }]);
    }
  });

  test("orders canceled, replaced or expired leave the ladder; the rest fill when the market reaches them", async () => {
    const harness = manualVenue(4);
    const { ask } = mustQuote(harness);
    const resting = (orderId: string, cents: bigint, timeInForce: "day" | "gtc") => {
      const limitPrice = ask - cents * CENT;
      return venueOrder({ orderId, side: "buy", type: "limit", timeInForce, qty: 10n, limitPrice, collarPrice: limitPrice });
    };
    for (const cents of [1n, 2n, 3n]) {
      for (const name of ["keep", "cancel", "replace", "expire"]) {
        harness.venue.submit(resting(`${name}-${cents}`, cents, name === "expire" ? "day" : "gtc"));
      }
    }
    await settle();
    for (const cents of [1n, 2n, 3n]) {
      harness.venue.cancel(`cancel-${cents}`);
      harness.venue.replace(`replace-${cents}`, resting(`replaced-${cents}`, cents + 3000n, "gtc"), 0n);
    }
    harness.venue.closeSession();
    await settle();
    const quotes = tickTimes(harness, TICKS_MAX);
    await settle();
    const filled = new Set(harness.reports.filter((report) => report.execution.kind === "fill").map((report) => report.orderId));
    expect([...filled].sort()).toEqual(["keep-1", "keep-2", "keep-3"]);
    for (const cents of [1n, 2n, 3n]) {
      const tick = quotes.findIndex((quote) => quote.ask <= ask - cents * CENT);
      expect(fillsOf(harness.reports, `keep-${cents}`)).toEqual([{ seq: 1, qty: 10n, price: quotes[tick]?.ask ?? -1n, atMs: tick }]);
    }
  });

  test("a stop-limit triggered and then canceled leaves no trace, and a triggered stop fills in the tick that triggers it", async () => {
    const harness = manualVenue(9);
    const { ask } = mustQuote(harness);
    const stopPrice = ask + CENT;
    const farLimit = ask - dollars(30);
    harness.venue.submit(venueOrder({ orderId: "stop-limit", side: "buy", type: "stop_limit", qty: 10n, stopPrice, limitPrice: farLimit, collarPrice: farLimit }));
    harness.venue.submit(venueOrder({ orderId: "stop", side: "buy", type: "stop", qty: 10n, stopPrice, collarPrice: dollars(200) }));
    await settle();
    const quotes = tickTimes(harness, TICKS_MAX);
    const tick = quotes.findIndex((quote) => quote.ask >= stopPrice);
    await settle();
    harness.venue.cancel("stop-limit");
    await settle();
    tickTimes(harness, 10);
    await settle();
    expect(harness.reports.map((report) => [report.orderId, report.execution])).toEqual([
      ["stop", { kind: "fill", seq: 1, qty: 10n, price: quotes[tick]?.ask ?? -1n }],
      ["stop-limit", { kind: "canceled", reason: "canceled by client" }],
    ]);
    expect(fillsOf(harness.reports, "stop")[0]?.atMs).toBe(tick);
    expect(harness.venue.ordersExaminedLastTick).toBe(0);
  });
});
