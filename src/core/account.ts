import type { Cash, Qty } from "./money.ts";
import type { Order } from "./order.ts";
import { newOrderList, type OrderList } from "./order-list.ts";

export interface Position {
  symbol: string;
  /** Shares held; never negative (no short selling). */
  qty: Qty;
  /** Shares promised to open sell orders; never more than qty. */
  heldQty: Qty;
  /** What the shares held cost, for the average entry price. */
  costBasis: Cash;
}

export interface Account {
  id: string;
  createdAtMs: number;
  cash: Cash;
  /** Cash promised to open buy orders: always the sum of their holdCash. */
  heldCash: Cash;
  positions: Map<string, Position>;
  orders: Map<string, Order>;
  /** The same orders oldest first, for newest-first listing and stable paging. */
  ordersByAge: OrderList;
  /**
   * The order id of each order whose client order id is not its own order id. Most submits
   * name no client order id and the node gives them the order id, so most orders need no entry
   * here: orderByClientOrderId() finds those through orders. Half the inserts per submit.
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
    heldCash: 0n,
    positions: new Map(),
    orders: new Map(),
    ordersByAge: newOrderList(),
    orderIdsByDistinctClientOrderId: new Map(),
    eventSeq: 0,
  };
}

/**
 * The order that carries this client order id, if any. A client order id belongs to at most
 * one order of an account (decide refuses a second), so the entry found first is the only one.
 */
export function orderByClientOrderId(account: Account, clientOrderId: string): Order | undefined {
  const orderId = account.orderIdsByDistinctClientOrderId.get(clientOrderId);
  if (orderId !== undefined) return account.orders.get(orderId);
  // An order whose id is this string carries it as its client order id only if it was given none.
  const order = account.orders.get(clientOrderId);
  return order !== undefined && order.clientOrderId === clientOrderId ? order : undefined;
}

export function buyingPower(account: Account): Cash {
  return account.cash - account.heldCash;
}

export function availableQty(account: Account, symbol: string): Qty {
  const position = account.positions.get(symbol);
  return position === undefined ? 0n : position.qty - position.heldQty;
}
