// Shared set-up for the simulated venue's tests: a manual venue on one listing, a clock the
// test sets, and every report collected in order.
import { CASH_SCALE, type Price } from "../../src/core/money.ts";
import type { Listing } from "../../src/venue/default-listings.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import type { Quote, VenueOrder, VenueReport } from "../../src/venue/venue.ts";

export const CENT: Price = CASH_SCALE / 100n;

export function dollars(amount: number): Price {
  return BigInt(Math.round(amount * 100)) * CENT;
}

export interface Harness {
  venue: SimulatedVenue;
  reports: VenueReport[];
  clock: { ms: number };
}

export function manualVenue(seed = 7, listings: readonly Listing[] = [{ symbol: "AAPL", price: dollars(100) }]): Harness {
  const clock = { ms: 0 };
  const venue = new SimulatedVenue({ seed, symbols: listings, now: () => clock.ms, manual: true });
  const reports: VenueReport[] = [];
  venue.onReport((report) => reports.push(report));
  return { venue, reports, clock };
}

/** Lets every queued call and report run: the venue never answers on the caller's stack. */
export async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

export function venueOrder(fields: Partial<VenueOrder> & Pick<VenueOrder, "orderId" | "side" | "qty">): VenueOrder {
  return {
    accountId: "acct-1",
    symbol: "AAPL",
    type: "market",
    timeInForce: "gtc",
    limitPrice: null,
    stopPrice: null,
    collarPrice: null,
    lastExecutionSeq: 0,
    ...fields,
  };
}

/**
 * Ticks up to ticksMax times, setting the clock to the tick's number first so that each report's
 * atMs names the tick that caused it. Returns the quote after each tick, indexed by tick number
 * (index 0 is the quote before the first tick).
 */
export function tickTimes(harness: Harness, ticksMax: number, symbol = "AAPL"): Quote[] {
  const quotes: Quote[] = [mustQuote(harness, symbol)];
  for (let tick = 1; tick <= ticksMax; tick++) {
    harness.clock.ms = tick;
    harness.venue.tick();
    quotes.push(mustQuote(harness, symbol));
  }
  return quotes;
}

export function mustQuote(harness: Harness, symbol = "AAPL"): Quote {
  const quote = harness.venue.quote(symbol);
  if (quote === undefined) throw new Error(`no quote for ${symbol}`);
  return quote;
}

export function fillsOf(reports: readonly VenueReport[], orderId: string): { seq: number; qty: bigint; price: bigint; atMs: number }[] {
  const fills = [];
  for (const report of reports) {
    if (report.orderId !== orderId || report.execution.kind !== "fill") continue;
    fills.push({ seq: report.execution.seq, qty: report.execution.qty, price: report.execution.price, atMs: report.atMs });
  }
  return fills;
}
