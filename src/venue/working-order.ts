// An order the simulated venue is working, and the rules that decide whether it trades now.
// Pure functions of the order and the top of book, so each rule can be checked on its own.
import type { Price, Qty } from "../core/money.ts";
import { priceProblem } from "../core/price-rules.ts";
import type { TopOfBook } from "./quote-feed.ts";
import type { VenueOrder } from "./venue.ts";

export interface WorkingOrder {
  readonly order: VenueOrder;
  /** Shares still to execute; the order stops working when this reaches zero. */
  leavesQty: Qty;
  /** Sequence of the last execution reported; the next fill is reported as one more. */
  lastExecutionSeq: number;
  /** Once a stop is reached the order stays triggered, even if the market moves back. */
  stopTriggered: boolean;
  /** Shares this venue instance has executed for the order. */
  executedHereQty: Qty;
  /**
   * Shares executed before this venue instance took the order: zero for an order submitted
   * here; null for one adopted by reconcile, whose earlier fills only the OMS knows.
   */
  executedBeforeQty: Qty | null;
}

export function workingOrderOf(order: VenueOrder, executedBeforeQty: Qty | null): WorkingOrder {
  return {
    order,
    leavesQty: order.qty,
    lastExecutionSeq: order.lastExecutionSeq,
    stopTriggered: false,
    executedHereQty: 0n,
    executedBeforeQty,
  };
}

/** Null when the venue can work the order; else what is malformed (a bug in the caller). */
export function venueOrderProblem(order: VenueOrder): string | null {
  if (order.qty <= 0n) return `qty ${order.qty} must be positive`;
  if (!Number.isSafeInteger(order.lastExecutionSeq) || order.lastExecutionSeq < 0) {
    return `lastExecutionSeq ${order.lastExecutionSeq} must be a non-negative integer`;
  }
  const hasLimit = order.type === "limit" || order.type === "stop_limit";
  const hasStop = order.type === "stop" || order.type === "stop_limit";
  if (hasLimit !== (order.limitPrice !== null)) return `a ${order.type} order ${hasLimit ? "needs" : "has no"} limit price`;
  if (hasStop !== (order.stopPrice !== null)) return `a ${order.type} order ${hasStop ? "needs" : "has no"} stop price`;
  for (const price of [order.limitPrice, order.stopPrice, order.collarPrice]) {
    if (price !== null && priceProblem(price) !== null) return `price ${price} is not a legal price`;
  }
  return null;
}

/** A buy stop is reached when the offer rises to it, a sell stop when the bid falls to it. */
export function stopReached(order: VenueOrder, book: TopOfBook): boolean {
  if (order.stopPrice === null) return false;
  return order.side === "buy" ? book.ask >= order.stopPrice : book.bid <= order.stopPrice;
}

/**
 * The price the order would trade at now (the offer for a buy, the bid for a sell), or null
 * when it may not trade: a stop not yet triggered, a limit not marketable, or an offer above
 * a buy's collar (the cash the OMS holds covers the collar and no more).
 */
export function marketablePrice(work: WorkingOrder, book: TopOfBook): Price | null {
  const { order } = work;
  const isStop = order.type === "stop" || order.type === "stop_limit";
  if (isStop && !work.stopTriggered) return null;
  if (order.side === "buy") {
    if (order.limitPrice !== null && book.ask > order.limitPrice) return null;
    if (order.collarPrice !== null && book.ask > order.collarPrice) return null;
    return book.ask;
  }
  if (order.limitPrice !== null && book.bid < order.limitPrice) return null;
  return book.bid;
}

/** Shares the order can take now: no more than it has left nor than the side it trades against shows. */
export function fillableQty(work: WorkingOrder, book: TopOfBook): Qty {
  const shown = work.order.side === "buy" ? book.askSize : book.bidSize;
  return work.leavesQty < shown ? work.leavesQty : shown;
}

/**
 * The worst price the order accepts once it may trade: a buy trades while the ask is at or
 * below it (the lower of its limit and its collar), a sell while the bid is at or above its
 * limit. Null for an order that takes any price. A resting order is marketable exactly when
 * the quote it trades against is within this price, which lets the venue rank resting orders
 * by it and stop looking at the first one that is not.
 */
export function effectiveLimitPrice(order: VenueOrder): Price | null {
  if (order.side === "sell") return order.limitPrice;
  if (order.limitPrice === null) return order.collarPrice;
  if (order.collarPrice === null) return order.limitPrice;
  return order.limitPrice < order.collarPrice ? order.limitPrice : order.collarPrice;
}
