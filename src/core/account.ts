import type { Cash, Qty } from "./money.ts";
import type { Order } from "./order.ts";
import { addOrder, type OrderList } from "./order-list.ts";

export interface Position {
  symbol: string;
  /** Shares held; never negative (no short selling). */
  qty: Qty;
  /** Shares promised to open sell orders; never more than qty. */
  heldQty: Qty;
  /** What the shares held cost, for the average entry price. */
  costBasis: Cash;
}

/**
 * What an admin allows the account to do (Alpaca's trading_blocked and account_blocked flags as
 * one value): trading_blocked refuses new orders and replaces, account_blocked also refuses
 * deposits and withdrawals. Cancels and the venue's fills go on in every state: an order
 * already at the venue may still fill, and closing it only lowers risk.
 */
export type TradingState = "active" | "trading_blocked" | "account_blocked";
export const TRADING_STATES: readonly TradingState[] = ["active", "trading_blocked", "account_blocked"];

/** An account is also the list of its orders by age (see OrderList). */
export interface Account extends OrderList {
  id: string;
  createdAtMs: number;
  cash: Cash;
  tradingState: TradingState;
  /** Cash promised to open buy orders: always the sum of their holdCash. */
  heldCash: Cash;
  positions: Map<string, Position>;
  /** The account's orders by id; read through findOrder, added through fileOrder. */
  orders: Map<string, Order>;
  /**
   * The order id of each order whose client order id is not its own order id. Most submits
   * name no client order id and the node gives them the order id, so most orders need no entry
   * here: orderByClientOrderId() finds those by order id. Half the inserts per submit.
   */
  orderIdsByDistinctClientOrderId: Map<string, string>;
  /** Count of events applied to this account: the trade-update sequence. */
  eventSeq: number;
}

export function newAccount(id: string, createdAtMs: number): Account {
  return {
    id,
    createdAtMs,
    cash: 0n,
    tradingState: "active",
    heldCash: 0n,
    positions: new Map(),
    orders: new Map(),
    olderOrderChunks: [],
    newestOrders: [],
    orderIdsByDistinctClientOrderId: new Map(),
    eventSeq: 0,
  };
}

// One Map of orders by id, whatever the account's size: a large account's young collections
// rescan it, but every split of it tried moved orders between Maps in one long command, a worse
// tail (BENCHMARKS.md, History).

export function findOrder(account: Account, orderId: string): Order | undefined {
  return account.orders.get(orderId);
}

/**
 * Files a new order under its id, its age and (when it is not its id) its client order id: the
 * one way orders enter an account, for apply and for a snapshot's decoder alike, so both build
 * the same Maps and list in the same order.
 */
export function fileOrder(account: Account, order: Order): void {
  if (findOrder(account, order.id) !== undefined) throw new Error(`invariant: order ${order.id} created twice in account ${account.id}`);
  account.orders.set(order.id, order);
  addOrder(account, order);
  if (order.clientOrderId !== order.id) account.orderIdsByDistinctClientOrderId.set(order.clientOrderId, order.id);
}

/**
 * The order that carries this client order id, if any. A client order id belongs to at most
 * one order of an account (decide refuses a second), so the entry found first is the only one.
 */
export function orderByClientOrderId(account: Account, clientOrderId: string): Order | undefined {
  const orderId = account.orderIdsByDistinctClientOrderId.get(clientOrderId);
  if (orderId !== undefined) return findOrder(account, orderId);
  // An order whose id is this string carries it as its client order id only if it was given none.
  const order = findOrder(account, clientOrderId);
  return order !== undefined && order.clientOrderId === clientOrderId ? order : undefined;
}

/** Withdrawable cash as well: a withdrawal may not take what open buy orders hold. */
export function buyingPower(account: Account): Cash {
  return account.cash - account.heldCash;
}

export function availableQty(account: Account, symbol: string): Qty {
  const position = account.positions.get(symbol);
  return position === undefined ? 0n : position.qty - position.heldQty;
}
