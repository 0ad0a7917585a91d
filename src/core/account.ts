import type { Cash, Qty } from "./money.ts";
import { isOpen, type Order } from "./order.ts";
import { addOrder, removeOrder, type OrderList } from "./order-list.ts";

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

/** An account is also the list of its hot orders by age (see OrderList). */
export interface Account extends OrderList {
  id: string;
  createdAtMs: number;
  cash: Cash;
  tradingState: TradingState;
  /** Cash promised to open buy orders: always the sum of their holdCash. */
  heldCash: Cash;
  positions: Map<string, Position>;
  /** The account's hot orders by id; read through findOrder, added through fileOrder. */
  orders: Map<string, Order>;
  /**
   * The order id of each hot order whose client order id is not its own order id. Most submits
   * name no client order id and the node gives them the order id, so most orders need no entry
   * here: orderByClientOrderId() finds those by order id. Half the inserts per submit.
   */
  orderIdsByDistinctClientOrderId: Map<string, string>;
  /**
   * The hot closed orders in the order they closed, oldest from closedHead on: the next to be
   * evicted (see evictClosedOrders). Slots before closedHead are spent and dropped in bulk.
   */
  closedOrders: Order[];
  closedHead: number;
  /** Count of events applied to this account: the trade-update sequence. */
  eventSeq: number;
}

/**
 * How long closed orders stay in the hot ledger: while fewer than keptMax of the account's
 * closed orders closed after them, and for keptMs after they closed, measured by the commands'
 * own times (never the wall clock), so replay evicts exactly what the live node evicted.
 * The client_order_id idempotency window is the same: open orders and these.
 */
export interface ClosedOrderRetention {
  keptMax: number;
  keptMs: number;
}

/** A day, and a thousand orders an account: a client retrying a submit is well inside both. */
export const CLOSED_ORDER_RETENTION_DEFAULT: ClosedOrderRetention = { keptMax: 1000, keptMs: 24 * 60 * 60 * 1000 };

/**
 * Evictions per command at most: a command never stalls on a long eviction (after a retention
 * is lowered, or a snapshot from before eviction is loaded); the backlog drains 16 per command,
 * while steady trading closes about one order per command.
 */
export const EVICTIONS_PER_COMMAND_MAX = 16;

/**
 * Spent slots at the head of closedOrders are dropped in one splice once they outnumber the
 * queued orders (and are at least this many): the queue never holds more than about twice its
 * orders, and evicted orders are not kept alive by it for long.
 */
const SPENT_CLOSED_SLOTS_MIN = 64;

export function newAccount(id: string, createdAtMs: number): Account {
  return {
    id,
    createdAtMs,
    cash: 0n,
    tradingState: "active",
    heldCash: 0n,
    positions: new Map(),
    orders: new Map(),
    hotOrders: [],
    evictedSlots: 0,
    ordersCreated: 0,
    orderIdsByDistinctClientOrderId: new Map(),
    closedOrders: [],
    closedHead: 0,
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

/** The order has just closed: it joins the queue of closed orders to be evicted in turn. */
export function queueClosedOrder(account: Account, order: Order): void {
  account.closedOrders.push(order);
}

export function hotClosedOrderCount(account: Account): number {
  return account.closedOrders.length - account.closedHead;
}

/**
 * Takes the closed orders that retention no longer keeps out of the hot ledger, oldest closed
 * first, at most EVICTIONS_PER_COMMAND_MAX, and returns them (for the archive). nowMs is the
 * time of the command just applied. An open order is never evicted.
 */
export function evictClosedOrders(account: Account, retention: ClosedOrderRetention, nowMs: number): Order[] {
  const evicted: Order[] = [];
  const oldestKeptMs = nowMs - retention.keptMs;
  while (evicted.length < EVICTIONS_PER_COMMAND_MAX && account.closedHead < account.closedOrders.length) {
    const order = account.closedOrders[account.closedHead] as Order;
    if (hotClosedOrderCount(account) <= retention.keptMax && order.updatedAtMs >= oldestKeptMs) break;
    if (isOpen(order.status)) throw new Error(`invariant: open order ${order.id} queued for eviction`);
    account.closedHead += 1;
    account.orders.delete(order.id);
    if (account.orderIdsByDistinctClientOrderId.get(order.clientOrderId) === order.id) account.orderIdsByDistinctClientOrderId.delete(order.clientOrderId);
    removeOrder(account, order);
    evicted.push(order);
  }
  if (account.closedHead >= SPENT_CLOSED_SLOTS_MIN && account.closedHead * 2 > account.closedOrders.length) {
    account.closedOrders.splice(0, account.closedHead);
    account.closedHead = 0;
  }
  return evicted;
}

/**
 * The order that carries this client order id, if any. A client order id belongs to at most
 * one hot order of an account (decide refuses a second), so the entry found first is the only one.
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
