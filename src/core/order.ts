import type { Cash, Price, Qty } from "./money.ts";

export type Side = "buy" | "sell";
export type OrderType = "market" | "limit" | "stop" | "stop_limit";
export type TimeInForce = "day" | "gtc" | "ioc" | "fok";

/** Alpaca's status names. "pending_new" is only the replacing order of an unconfirmed replace. */
export type OrderStatus =
  | "new"
  | "partially_filled"
  | "filled"
  | "canceled"
  | "rejected"
  | "expired"
  | "replaced"
  | "pending_cancel"
  | "pending_replace"
  | "pending_new";

/** Every status, each once: for checks that must cover them all. */
export const ORDER_STATUSES = [
  "new",
  "partially_filled",
  "filled",
  "canceled",
  "rejected",
  "expired",
  "replaced",
  "pending_cancel",
  "pending_replace",
  "pending_new",
] as const satisfies readonly OrderStatus[];
// A status added to OrderStatus fails to compile here until ORDER_STATUSES lists it.
const ORDER_STATUSES_COMPLETE: [Exclude<OrderStatus, (typeof ORDER_STATUSES)[number]>] extends [never] ? true : false = true;
if (!ORDER_STATUSES_COMPLETE) throw new Error("invariant: ORDER_STATUSES lacks a status");

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  "filled",
  "canceled",
  "rejected",
  "expired",
  "replaced",
]);

export function isOpen(status: OrderStatus): boolean {
  // A switch rather than TERMINAL_STATUSES.has: every fill and close asks, and a set lookup
  // hashes; the two lists are kept equal by test/core/open-status-and-price-tick.test.ts.
  switch (status) {
    case "filled":
    case "canceled":
    case "rejected":
    case "expired":
    case "replaced":
      return false;
    default:
      return true;
  }
}

/** How an order is to trade: what a submit names, the terms keep and the venue works. */
export interface OrderInstructions {
  symbol: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  qty: Qty;
  limitPrice: Price | null;
  stopPrice: Price | null;
}

/** What a client asked for, after validation; fixed for the order's life. */
export interface OrderTerms extends OrderInstructions {
  id: string;
  clientOrderId: string;
  /**
   * The most a buy may pay per share: the limit price, or for market and stop buys a
   * protective collar above the market (Alpaca's 2.5%–4% rule). The venue never fills a buy
   * above it, which is what makes the cash hold sufficient. Null for sells.
   */
  collarPrice: Price | null;
  /** Present on the replacing order of a replace. */
  replaces: string | null;
}

export interface Order extends OrderTerms {
  accountId: string;
  /** Its place among every order the account ever created, from 0: what page tokens name. */
  listPosition: number;
  status: OrderStatus;
  filledQty: Qty;
  /** Sum of fill qty × fill price, for the average fill price. */
  filledNotional: Cash;
  /**
   * What this order holds while open: cash for a buy, shares for a sell. It shrinks with
   * each fill and drops to zero when the order closes.
   */
  holdCash: Cash;
  holdQty: Qty;
  /** The venue's execution sequence of the last fill applied; older ones are duplicates. */
  lastExecutionSeq: number;
  /** Set while a replace is pending: the replacing order and this order's filled qty when
   * the replace was asked for (the venue confirms a replace only if no fill came between). */
  pendingReplace: { newOrderId: string; filledQty: Qty } | null;
  replacedBy: string | null;
  rejectReason: string;
  createdAtMs: number;
  /** The last change of status; for a closed order, when it closed (see closedAtMs). */
  updatedAtMs: number;
}

export type ClosedStatus = "filled" | "canceled" | "expired" | "replaced" | "rejected";

/**
 * When the order reached this closing status, or null if it is not in it. A closed order's
 * status never changes again (apply refuses to), so its last update is when it closed: the
 * order needs no field per closing status, most of them null all its life.
 */
export function closedAtMs(order: Order, status: ClosedStatus): number | null {
  return order.status === status ? order.updatedAtMs : null;
}

export function remainingQty(order: Order): Qty {
  return order.qty - order.filledQty;
}
