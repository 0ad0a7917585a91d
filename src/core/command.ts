import type { TradingState } from "./account.ts";
import type { Cash, Price, Qty } from "./money.ts";
import type { OrderInstructions, TimeInForce } from "./order.ts";

// A command is a validated request with everything the core needs already in it: ids, the
// time and any market price are chosen by the node and passed in, so that deciding is pure.

export type Command =
  | CreateAccount
  | Deposit
  | Withdraw
  | SetTradingState
  | SubmitOrder
  | CancelOrder
  | ReplaceOrder
  | ApplyExecution;

export interface CreateAccount {
  kind: "create_account";
  accountId: string;
  atMs: number;
}

export interface Deposit {
  kind: "deposit";
  accountId: string;
  amount: Cash;
  atMs: number;
}

export interface Withdraw {
  kind: "withdraw";
  accountId: string;
  amount: Cash;
  atMs: number;
}

export interface SetTradingState {
  kind: "set_trading_state";
  accountId: string;
  tradingState: TradingState;
  atMs: number;
}

export interface SubmitOrder extends OrderInstructions {
  kind: "submit_order";
  accountId: string;
  orderId: string;
  /** The client's key, or the order id when the client gave none. */
  clientOrderId: string;
  /** The venue's ask when the node built the command; prices market buys' collar. */
  askPrice: Price;
  atMs: number;
}

export interface CancelOrder {
  kind: "cancel_order";
  accountId: string;
  orderId: string;
  atMs: number;
}

export interface ReplaceOrder {
  kind: "replace_order";
  accountId: string;
  orderId: string;
  newOrderId: string;
  /** The replacing order's client key, or newOrderId when the client gave none. */
  clientOrderId: string;
  /** Null keeps the old order's value (its remaining qty, for qty). */
  qty: Qty | null;
  limitPrice: Price | null;
  stopPrice: Price | null;
  timeInForce: TimeInForce | null;
  askPrice: Price;
  atMs: number;
}

/** What the venue reported about an order; it reaches the core through the log like any command. */
export type Execution =
  | { kind: "fill"; seq: number; qty: Qty; price: Price }
  | { kind: "canceled"; reason: string }
  | { kind: "expired" }
  | { kind: "rejected"; reason: string }
  | { kind: "replaced"; newOrderId: string }
  | { kind: "replace_rejected"; newOrderId: string; reason: string };

export interface ApplyExecution {
  kind: "apply_execution";
  accountId: string;
  orderId: string;
  execution: Execution;
  atMs: number;
}
