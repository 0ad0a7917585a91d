import { CASH_SCALE, divideCeil, type Price } from "./money.ts";

const ONE_DOLLAR: Price = CASH_SCALE;
const CENT: Price = CASH_SCALE / 100n;
const SUB_PENNY_TICK: Price = 1n;
const FIFTY_DOLLARS: Price = 50n * CASH_SCALE;
const CENT_NUMBER = Number(CENT);
const MAX_SAFE_PRICE: Price = BigInt(Number.MAX_SAFE_INTEGER);

/** The smallest price step: a cent at or above $1.00, $0.0001 below (SEC Rule 612). */
export function priceTick(price: Price): Price {
  return price >= ONE_DOLLAR ? CENT : SUB_PENNY_TICK;
}

/**
 * Null when the price is a legal order price; else why not. Sub-penny prices at or above
 * $1.00 are rejected, never rounded (Alpaca rule 1).
 */
export function priceProblem(price: Price): string | null {
  if (price <= 0n) return "must be positive";
  if (offTick(price)) {
    return "sub-penny increment does not fulfill minimum pricing criteria (at most 2 decimals at or above $1.00, 4 below)";
  }
  return null;
}

/**
 * Whether a positive price is off its tick (priceTick's rule: every price below $1.00 is on
 * the $0.0001 tick, at or above it only whole cents are).
 */
function offTick(price: Price): boolean {
  if (price < ONE_DOLLAR) return false;
  // Checked on a number when exact: a bigint remainder allocates, and every order's price
  // is checked on the submit path.
  if (price <= MAX_SAFE_PRICE) return Number(price) % CENT_NUMBER !== 0;
  return price % CENT !== 0n;
}

/**
 * The most a market or stop buy may pay per share: the reference price plus 4% below $50,
 * plus 2.5% at or above (Alpaca's stop-to-stop-limit rule, used for market buys too), rounded
 * up to the tick. The OMS holds cash for it and the venue never fills above it, so a buy can
 * never spend cash that was not held.
 */
export function buyCollar(reference: Price): Price {
  const raised = reference < FIFTY_DOLLARS ? divideCeil(reference * 104n, 100n) : divideCeil(reference * 1025n, 1000n);
  const tick = priceTick(raised);
  return divideCeil(raised, tick) * tick;
}
