// Validation of what a client asks an order to be: the rules that hold for a new order and
// for the replacing order of a replace alike.
import type { Cash, Price, Qty } from "./money.ts";
import type { OrderTerms, OrderType, Side, TimeInForce } from "./order.ts";
import { buyCollar, priceProblem } from "./price-rules.ts";
import { reject, type Rejection } from "./rejection.ts";

/** Bounds that keep every product of qty and price far inside what the log stores (int64). */
export const ORDER_QTY_MAX: Qty = 10_000_000n;
export const ORDER_PRICE_MAX: Price = 1_000_000n * 10_000n;

/**
 * Null when the terms are a valid order, else why not. Takes the fields one by one, not a
 * request object: a submit is checked on its own command, with no copy of it made per order.
 */
export function termsProblem(type: OrderType, timeInForce: TimeInForce, qty: Qty, limitPrice: Price | null, stopPrice: Price | null): Rejection | null {
  if (qty <= 0n) return reject("invalid_argument", "qty: must be a positive number of whole shares");
  if (qty > ORDER_QTY_MAX) return reject("invalid_argument", `qty: must be at most ${ORDER_QTY_MAX}`);
  const needsLimit = type === "limit" || type === "stop_limit";
  const needsStop = type === "stop" || type === "stop_limit";
  const priceRejection =
    checkPrice("limit_price", limitPrice, needsLimit, type) ?? checkPrice("stop_price", stopPrice, needsStop, type);
  if (priceRejection !== null) return priceRejection;
  if (needsStop && (timeInForce === "ioc" || timeInForce === "fok")) {
    return reject("invalid_argument", `time_in_force: ${timeInForce} is not allowed for ${type} orders`);
  }
  return null;
}

/** The collar of valid terms (see OrderTerms.collarPrice): null for a sell. */
export function collarOf(side: Side, type: OrderType, limitPrice: Price | null, stopPrice: Price | null, askPrice: Price): Price | null {
  if (side === "sell") return null;
  switch (type) {
    case "limit":
    case "stop_limit":
      return present(limitPrice);
    case "stop":
      return buyCollar(present(stopPrice));
    case "market":
      if (askPrice <= 0n) throw new Error("invariant: a market buy needs a positive ask price");
      return buyCollar(askPrice);
  }
}

function checkPrice(field: string, price: Price | null, required: boolean, type: OrderType): Rejection | null {
  if (price === null) {
    return required ? reject("invalid_argument", `${field}: is required for ${type} orders`) : null;
  }
  if (!required) return reject("invalid_argument", `${field}: must be empty for ${type} orders`);
  const problem = priceProblem(price);
  if (problem !== null) return reject("invalid_argument", `${field}: ${problem}`);
  if (price > ORDER_PRICE_MAX) return reject("invalid_argument", `${field}: must be at most 1000000`);
  return null;
}

function present(price: Price | null): Price {
  if (price === null) throw new Error("invariant: price checked present above");
  return price;
}

// What an order holds while open: qty × collar in cash for a buy, qty in shares for a sell.
// Two functions rather than one returning a pair, so the hot path allocates no pair.

export function holdCashOf(terms: OrderTerms, qty: Qty): Cash {
  if (terms.side !== "buy") return 0n;
  if (terms.collarPrice === null) throw new Error(`invariant: buy order ${terms.id} has no collar price`);
  return qty * terms.collarPrice;
}

export function holdQtyOf(terms: OrderTerms, qty: Qty): Qty {
  return terms.side === "sell" ? qty : 0n;
}
