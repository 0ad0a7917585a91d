// The simulated market: one top of book per symbol, moved by a seeded random walk. The venue
// fills against it; nothing else writes to it.
import type { Price, Qty } from "../core/money.ts";
import type { Side } from "../core/order.ts";
import { priceProblem, priceTick } from "../core/price-rules.ts";
import type { Listing } from "./default-listings.ts";
import { invariant } from "./invariant.ts";
import { randomIntegerBetween } from "./seeded-random.ts";
import type { Quote } from "./venue.ts";

/** The best bid and offer with the shares shown at each; sizes shrink as the venue fills. */
export interface TopOfBook {
  readonly symbol: string;
  readonly bid: Price;
  readonly ask: Price;
  readonly last: Price;
  readonly bidSize: Qty;
  readonly askSize: Qty;
}

interface Book {
  symbol: string;
  bid: Price;
  ask: Price;
  last: Price;
  bidSize: Qty;
  askSize: Qty;
}

/** Displayed size is drawn in round lots: 1 to 10 lots of 100 shares per side per step. */
const ROUND_LOT_QTY = 100n;
const DISPLAYED_LOTS_MIN = 1;
const DISPLAYED_LOTS_MAX = 10;

export class QuoteFeed {
  readonly #books = new Map<string, Book>();
  readonly #symbols: readonly string[];
  readonly #random: () => number;

  constructor(listings: readonly Listing[], random: () => number) {
    invariant(listings.length > 0, "a venue lists at least one symbol");
    this.#random = random;
    for (const listing of listings) {
      invariant(!this.#books.has(listing.symbol), `symbol ${listing.symbol} is listed twice`);
      invariant(priceProblem(listing.price) === null, `listing price of ${listing.symbol} is not a legal price`);
      const book: Book = { symbol: listing.symbol, bid: listing.price, ask: 0n, last: listing.price, bidSize: 0n, askSize: 0n };
      this.#books.set(listing.symbol, book);
      this.#spreadAndSize(book);
    }
    this.#symbols = listings.map((listing) => listing.symbol);
  }

  symbols(): readonly string[] {
    return this.#symbols;
  }

  quote(symbol: string): Quote | undefined {
    const book = this.#books.get(symbol);
    return book === undefined ? undefined : { symbol, bid: book.bid, ask: book.ask, last: book.last };
  }

  book(symbol: string): TopOfBook | undefined {
    return this.#books.get(symbol);
  }

  /** Moves every symbol's bid by at most one tick and shows fresh sizes, in listing order. */
  step(): void {
    for (const symbol of this.#symbols) {
      const book = this.#books.get(symbol);
      invariant(book !== undefined, `book of ${symbol} exists`);
      const move = randomIntegerBetween(this.#random, -1, 1);
      if (move > 0) book.bid += priceTick(book.bid);
      // The tick below the bid is the tick of the price just under it: from $1.00 the next
      // bid down is $0.9999, not $0.99. The bid never leaves the positive prices.
      if (move < 0 && book.bid > 1n) book.bid -= priceTick(book.bid - 1n);
      this.#spreadAndSize(book);
    }
  }

  /** Takes shares from the side an order trades against: a buy lifts the offer, a sell hits the bid. */
  take(symbol: string, side: Side, qty: Qty): void {
    const book = this.#books.get(symbol);
    invariant(book !== undefined, `take from a listed symbol, got ${symbol}`);
    const shown = side === "buy" ? book.askSize : book.bidSize;
    invariant(qty > 0n && qty <= shown, `take ${qty} of ${symbol} within the ${shown} shown`);
    if (side === "buy") book.askSize -= qty;
    else book.bidSize -= qty;
  }

  recordTrade(symbol: string, price: Price): void {
    const book = this.#books.get(symbol);
    invariant(book !== undefined, `trade in a listed symbol, got ${symbol}`);
    book.last = price;
  }

  #spreadAndSize(book: Book): void {
    book.ask = book.bid + priceTick(book.bid);
    book.bidSize = BigInt(randomIntegerBetween(this.#random, DISPLAYED_LOTS_MIN, DISPLAYED_LOTS_MAX)) * ROUND_LOT_QTY;
    book.askSize = BigInt(randomIntegerBetween(this.#random, DISPLAYED_LOTS_MIN, DISPLAYED_LOTS_MAX)) * ROUND_LOT_QTY;
    invariant(book.bid > 0n && book.bid < book.ask, `${book.symbol} quote is positive and uncrossed`);
    invariant(priceProblem(book.bid) === null && priceProblem(book.ask) === null, `${book.symbol} quote is on the price grid`);
  }
}
