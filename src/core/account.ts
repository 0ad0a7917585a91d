import type { Cash, Qty } from "./money.ts";
import type { Order } from "./order.ts";

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
  /** Order ids in creation order, for newest-first listing and stable paging. */
  orderIds: string[];
  orderIdsByClientOrderId: Map<string, string>;
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
    orderIds: [],
    orderIdsByClientOrderId: new Map(),
    eventSeq: 0,
  };
}

export function buyingPower(account: Account): Cash {
  return account.cash - account.heldCash;
}

export function availableQty(account: Account, symbol: string): Qty {
  const position = account.positions.get(symbol);
  return position === undefined ? 0n : position.qty - position.heldQty;
}
