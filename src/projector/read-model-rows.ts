// The read model's rows, derived from the core's ledger (accounts, orders, positions) and from
// the fill events themselves (the ledger keeps totals, not each fill). Amounts leave as exact
// decimal strings of dollars ("189.25"), which Postgres parses into numeric without rounding;
// a JS number never carries money here.
import type { Account, Position } from "../core/account.ts";
import type { OrderFilled } from "../core/event.ts";
import { divideRounded, formatCash, type Cash } from "../core/money.ts";
import type { Order } from "../core/order.ts";

export interface AccountRow {
  account_id: string;
  cash: string;
  reserved: string;
  /** active, trading_blocked or account_blocked, as the core names them. */
  trading_state: string;
  created_at: Date;
}

export interface OrderRow {
  order_id: string;
  account_id: string;
  client_order_id: string;
  symbol: string;
  side: string;
  type: string;
  time_in_force: string;
  qty: bigint;
  limit_price: string | null;
  stop_price: string | null;
  status: string;
  filled_qty: bigint;
  filled_avg_price: string | null;
  replaces: string | null;
  replaced_by: string | null;
  reject_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface FillRow {
  order_id: string;
  execution_seq: bigint;
  account_id: string;
  symbol: string;
  side: string;
  qty: bigint;
  price: string;
  executed_at: Date;
}

export interface PositionRow {
  account_id: string;
  symbol: string;
  qty: bigint;
  cost_basis: string;
}

export function accountRow(account: Account): AccountRow {
  return {
    account_id: account.id,
    cash: formatCash(account.cash),
    reserved: formatCash(account.heldCash),
    trading_state: account.tradingState,
    created_at: new Date(account.createdAtMs),
  };
}

export function orderRow(order: Order): OrderRow {
  return {
    order_id: order.id,
    account_id: order.accountId,
    client_order_id: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    time_in_force: order.timeInForce,
    qty: order.qty,
    limit_price: nullableCash(order.limitPrice),
    stop_price: nullableCash(order.stopPrice),
    status: order.status,
    filled_qty: order.filledQty,
    // The OMS's own average (node/wire-views.ts): notional over qty, rounded half away from zero.
    filled_avg_price: order.filledQty === 0n ? null : formatCash(divideRounded(order.filledNotional, order.filledQty)),
    replaces: order.replaces,
    replaced_by: order.replacedBy,
    reject_reason: order.rejectReason === "" ? null : order.rejectReason,
    created_at: new Date(order.createdAtMs),
    updated_at: new Date(order.updatedAtMs),
  };
}

/** A fill as the log states it; the order (already applied) gives its account, symbol and side. */
export function fillRow(order: Order, fill: OrderFilled): FillRow {
  return {
    order_id: fill.orderId,
    execution_seq: BigInt(fill.executionSeq),
    account_id: order.accountId,
    symbol: order.symbol,
    side: order.side,
    qty: fill.qty,
    price: formatCash(fill.price),
    executed_at: new Date(fill.atMs),
  };
}

export function positionRow(accountId: string, position: Position): PositionRow {
  return { account_id: accountId, symbol: position.symbol, qty: position.qty, cost_basis: formatCash(position.costBasis) };
}

function nullableCash(value: Cash | null): string | null {
  return value === null ? null : formatCash(value);
}
