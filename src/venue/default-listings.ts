// What `oms dev` trades when no listing is configured: large, liquid US names at prices near
// where they traded recently, so that the numbers a developer sees look like a real market.
import { CASH_SCALE, type Price } from "../core/money.ts";

export interface Listing {
  symbol: string;
  /** The first last-trade price; the first bid starts here, the ask one tick above. */
  price: Price;
}

const CENTS_PER_DOLLAR = 100n;

function dollars(cents: bigint): Price {
  return (cents * CASH_SCALE) / CENTS_PER_DOLLAR;
}

export const DEFAULT_LISTINGS: readonly Listing[] = [
  { symbol: "AAPL", price: dollars(18925n) },
  { symbol: "MSFT", price: dollars(41510n) },
  { symbol: "SPY", price: dollars(52830n) },
  { symbol: "GOOGL", price: dollars(17045n) },
  { symbol: "AMZN", price: dollars(18380n) },
  { symbol: "TSLA", price: dollars(17790n) },
  { symbol: "NVDA", price: dollars(12160n) },
  { symbol: "META", price: dollars(49875n) },
];
