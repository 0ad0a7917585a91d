import type { TradingState } from "./account.ts";
import type { Cash, Price, Qty } from "./money.ts";
import type { OrderTerms } from "./order.ts";

// Events are facts, written to the log before anyone hears of them. Applying the same events
// in the same order always rebuilds the same state. Every event belongs to one account; the
// log record that carries it names the account.

export type Event =
  | AccountCreated
  | CashDeposited
  | CashWithdrawn
  | TradingStateSet
  | OrderAccepted
  | OrderCancelRequested
  | OrderReplaceRequested
  | OrderFilled
  | OrderCanceled
  | OrderExpired
  | OrderRejected
  | OrderReplaced
  | OrderReplaceRejected;

export interface AccountCreated {
  kind: "account_created";
  atMs: number;
}

export interface CashDeposited {
  kind: "cash_deposited";
  amount: Cash;
  atMs: number;
}

export interface CashWithdrawn {
  kind: "cash_withdrawn";
  /** At most the account's buying power when decided, so cash never falls below what orders hold. */
  amount: Cash;
  atMs: number;
}

export interface TradingStateSet {
  kind: "trading_state_set";
  tradingState: TradingState;
  atMs: number;
}

export interface OrderAccepted {
  kind: "order_accepted";
  terms: OrderTerms;
  /** What the order holds from the moment it is accepted: cash for a buy, shares for a sell. */
  holdCash: Cash;
  holdQty: Qty;
  atMs: number;
}

export interface OrderCancelRequested {
  kind: "order_cancel_requested";
  orderId: string;
  atMs: number;
}

export interface OrderReplaceRequested {
  kind: "order_replace_requested";
  orderId: string;
  /** The replacing order, pending until the venue confirms. */
  terms: OrderTerms;
  /**
   * The replacing order's hold while the replace is pending: only what it needs beyond the
   * old order's hold (buying power holds the larger of the two, as Alpaca's does).
   */
  holdCash: Cash;
  holdQty: Qty;
  atMs: number;
}

export interface OrderFilled {
  kind: "order_filled";
  orderId: string;
  executionSeq: number;
  qty: Qty;
  price: Price;
  atMs: number;
}

export interface OrderCanceled {
  kind: "order_canceled";
  orderId: string;
  reason: string;
  atMs: number;
}

export interface OrderExpired {
  kind: "order_expired";
  orderId: string;
  atMs: number;
}

export interface OrderRejected {
  kind: "order_rejected";
  orderId: string;
  reason: string;
  atMs: number;
}

export interface OrderReplaced {
  kind: "order_replaced";
  orderId: string;
  newOrderId: string;
  atMs: number;
}

export interface OrderReplaceRejected {
  kind: "order_replace_rejected";
  orderId: string;
  newOrderId: string;
  reason: string;
  atMs: number;
}
