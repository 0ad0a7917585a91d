import { describe, expect, test } from "bun:test";
import { CASH_SCALE } from "../../src/core/money.ts";
import { priceProblem, priceTick } from "../../src/core/price-rules.ts";
import { DEFAULT_LISTINGS, type Listing } from "../../src/venue/default-listings.ts";
import { QuoteFeed } from "../../src/venue/quote-feed.ts";
import { seededRandom } from "../../src/venue/seeded-random.ts";
import type { Quote } from "../../src/venue/venue.ts";

const STEPS = 3000;
const EDGE_LISTINGS: readonly Listing[] = [
  { symbol: "PENNY", price: 1n }, // $0.0001: the lowest legal price
  { symbol: "DOLLAR", price: CASH_SCALE }, // $1.00: where the tick changes
];

function quotesOver(seed: number, steps: number, listings: readonly Listing[] = DEFAULT_LISTINGS): Quote[] {
  const feed = new QuoteFeed(listings, seededRandom(seed));
  const quotes: Quote[] = [];
  for (let step = 0; step < steps; step++) {
    feed.step();
    for (const symbol of feed.symbols()) {
      const quote = feed.quote(symbol);
      if (quote === undefined) throw new Error(`no quote for ${symbol}`);
      quotes.push(quote);
    }
  }
  return quotes;
}

describe("QuoteFeed", () => {
  test("the same seed replays the same quotes", () => {
    expect(quotesOver(11, 500)).toEqual(quotesOver(11, 500));
  });

  test("a different seed gives a different market", () => {
    expect(quotesOver(11, 50)).not.toEqual(quotesOver(12, 50));
  });

  test("lists the default symbols when none are configured", () => {
    const feed = new QuoteFeed(DEFAULT_LISTINGS, seededRandom(1));
    expect(feed.symbols()).toEqual(expect.arrayContaining(["AAPL", "MSFT", "SPY", "GOOGL", "AMZN", "TSLA", "NVDA", "META"]));
  });

  test("quotes stay positive, uncrossed, one tick wide and on the price grid", () => {
    const quotes = quotesOver(5, STEPS, [...DEFAULT_LISTINGS, ...EDGE_LISTINGS]);
    for (const quote of quotes) {
      expect(quote.bid).toBeGreaterThan(0n);
      expect(quote.ask - quote.bid).toBe(priceTick(quote.bid));
      expect(priceProblem(quote.bid)).toBeNull();
      expect(priceProblem(quote.ask)).toBeNull();
    }
  });

  test("the bid moves at most one tick per step, also across $1.00", () => {
    const feed = new QuoteFeed(EDGE_LISTINGS, seededRandom(8));
    let previous = feed.quote("DOLLAR")?.bid ?? 0n;
    let sawBelowDollar = false;
    for (let step = 0; step < STEPS; step++) {
      feed.step();
      const bid = feed.quote("DOLLAR")?.bid ?? 0n;
      const moved = bid > previous ? bid - previous : previous - bid;
      expect([0n, priceTick(bid < previous ? bid : previous)]).toContain(moved);
      if (bid < CASH_SCALE) sawBelowDollar = true;
      previous = bid;
    }
    expect(sawBelowDollar).toBe(true);
  });

  test("shows 100 to 1000 shares a side, in round lots, and shrinks as shares are taken", () => {
    const feed = new QuoteFeed(DEFAULT_LISTINGS, seededRandom(2));
    for (let step = 0; step < 200; step++) {
      feed.step();
      const book = feed.book("AAPL");
      if (book === undefined) throw new Error("no AAPL book");
      for (const size of [book.bidSize, book.askSize]) {
        expect(size).toBeGreaterThanOrEqual(100n);
        expect(size).toBeLessThanOrEqual(1000n);
        expect(size % 100n).toBe(0n);
      }
    }
    const before = feed.book("AAPL")?.askSize ?? 0n;
    feed.take("AAPL", "buy", 100n);
    expect(feed.book("AAPL")?.askSize).toBe(before - 100n);
    expect(() => feed.take("AAPL", "buy", before)).toThrow(/within/);
  });

  test("refuses a listing off the price grid or listed twice", () => {
    expect(() => new QuoteFeed([{ symbol: "X", price: CASH_SCALE + 1n }], seededRandom(1))).toThrow(/legal price/);
    const twice = [{ symbol: "X", price: CASH_SCALE }, { symbol: "X", price: CASH_SCALE }];
    expect(() => new QuoteFeed(twice, seededRandom(1))).toThrow(/twice/);
  });
});
