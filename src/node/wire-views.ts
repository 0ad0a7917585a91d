// How the node shows core state on the wire: decimal strings, proto enums, timestamps.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { buyingPower, type Account, type Position, type TradingState as CoreTradingState } from "../core/account.ts";
import type { Event } from "../core/event.ts";
import { divideRounded, formatCash, type Price } from "../core/money.ts";
import { closedAtMs, type Order, type OrderStatus as CoreStatus, type OrderType as CoreType, type Side as CoreSide, type TimeInForce as CoreTif } from "../core/order.ts";
import {
  AccountSchema,
  OrderStatus,
  OrderType,
  PositionSchema,
  Side,
  TimeInForce,
  TradeUpdateSchema,
  TradingState,
  type Account as AccountView,
  type Order as OrderView,
  type Position as PositionView,
  type TradeUpdate,
} from "../gen/oms/v1/trading_pb.ts";

export const SIDE_TO_WIRE: Record<CoreSide, Side> = { buy: Side.BUY, sell: Side.SELL };
export const TYPE_TO_WIRE: Record<CoreType, OrderType> = {
  market: OrderType.MARKET,
  limit: OrderType.LIMIT,
  stop: OrderType.STOP,
  stop_limit: OrderType.STOP_LIMIT,
};
export const TIF_TO_WIRE: Record<CoreTif, TimeInForce> = {
  day: TimeInForce.DAY,
  gtc: TimeInForce.GTC,
  ioc: TimeInForce.IOC,
  fok: TimeInForce.FOK,
};
export const TRADING_STATE_TO_WIRE: Record<CoreTradingState, TradingState> = {
  active: TradingState.ACTIVE,
  trading_blocked: TradingState.TRADING_BLOCKED,
  account_blocked: TradingState.ACCOUNT_BLOCKED,
};
export const STATUS_TO_WIRE: Record<CoreStatus, OrderStatus> = {
  new: OrderStatus.NEW,
  partially_filled: OrderStatus.PARTIALLY_FILLED,
  filled: OrderStatus.FILLED,
  canceled: OrderStatus.CANCELED,
  rejected: OrderStatus.REJECTED,
  expired: OrderStatus.EXPIRED,
  replaced: OrderStatus.REPLACED,
  pending_cancel: OrderStatus.PENDING_CANCEL,
  pending_replace: OrderStatus.PENDING_REPLACE,
  pending_new: OrderStatus.PENDING_NEW,
};

/**
 * The order as oms.v1.Order shows it. Built as a plain object of protobuf-es's shape rather than
 * by create(): every answer to an order command renders one, and create()'s reflection cost more
 * than encoding it. An unset time is an own property holding undefined, which protobuf-es and
 * the generated encoder leave out as they do an absent one (one object shape for every order).
 */
export function orderView(order: Order): OrderView {
  const view: ViewFields<OrderView> = {
    $typeName: "oms.v1.Order",
    id: order.id,
    clientOrderId: order.clientOrderId,
    accountId: order.accountId,
    symbol: order.symbol,
    side: SIDE_TO_WIRE[order.side],
    type: TYPE_TO_WIRE[order.type],
    timeInForce: TIF_TO_WIRE[order.timeInForce],
    qty: order.qty.toString(),
    limitPrice: order.limitPrice === null ? "" : formatCash(order.limitPrice),
    stopPrice: order.stopPrice === null ? "" : formatCash(order.stopPrice),
    status: STATUS_TO_WIRE[order.status],
    filledQty: order.filledQty.toString(),
    filledAvgPrice: order.filledQty === 0n ? "" : formatCash(divideRounded(order.filledNotional, order.filledQty)),
    rejectReason: order.rejectReason,
    replaces: order.replaces ?? "",
    replacedBy: order.replacedBy ?? "",
    createdAt: timestampOfMs(order.createdAtMs),
    updatedAt: timestampOfMs(order.updatedAtMs),
    filledAt: optionalTimestamp(closedAtMs(order, "filled")),
    canceledAt: optionalTimestamp(closedAtMs(order, "canceled")),
    expiredAt: optionalTimestamp(closedAtMs(order, "expired")),
    replacedAt: optionalTimestamp(closedAtMs(order, "replaced")),
    rejectedAt: optionalTimestamp(closedAtMs(order, "rejected")),
  };
  return view as OrderView;
}

/** A message's fields, each present, an unset one holding undefined. */
type ViewFields<T> = { [K in Exclude<keyof T, "$unknown">]-?: T[K] | undefined };

/** As timestampFromMs makes it (whole seconds down, then nanos), without create(). */
function timestampOfMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

function optionalTimestamp(ms: number | null): Timestamp | undefined {
  return ms === null ? undefined : timestampOfMs(ms);
}

/** lastPrice gives the venue's last trade per symbol, for equity and market values. */
export function accountView(account: Account, lastPrice: (symbol: string) => Price | undefined): AccountView {
  let equity = account.cash;
  for (const position of account.positions.values()) {
    equity += position.qty * (lastPrice(position.symbol) ?? 0n);
  }
  return create(AccountSchema, {
    id: account.id,
    cash: formatCash(account.cash),
    reserved: formatCash(account.heldCash),
    buyingPower: formatCash(buyingPower(account)),
    equity: formatCash(equity),
    createdAt: timestampFromMs(account.createdAtMs),
    tradingState: TRADING_STATE_TO_WIRE[account.tradingState],
  });
}

export function positionView(position: Position, last: Price | undefined): PositionView {
  const marketValue = last === undefined ? null : position.qty * last;
  return create(PositionSchema, {
    symbol: position.symbol,
    qty: position.qty.toString(),
    qtyAvailable: (position.qty - position.heldQty).toString(),
    avgEntryPrice: position.qty === 0n ? "" : formatCash(divideRounded(position.costBasis, position.qty)),
    costBasis: formatCash(position.costBasis),
    currentPrice: last === undefined ? "" : formatCash(last),
    marketValue: marketValue === null ? "" : formatCash(marketValue),
    unrealizedPl: marketValue === null ? "" : formatCash(marketValue - position.costBasis),
  });
}

/** The trade update an event produces, or null for events clients are not told about. */
export function tradeUpdateOf(event: Event, order: Order | undefined, account: Account): TradeUpdate | null {
  if (order === undefined) return null;
  const base = { order: orderView(order), timestamp: timestampFromMs(event.atMs), sequence: BigInt(account.eventSeq) };
  switch (event.kind) {
    case "account_created":
    case "cash_deposited":
    case "cash_withdrawn":
    case "trading_state_set":
      return null;
    case "order_filled": {
      const position = account.positions.get(order.symbol);
      return create(TradeUpdateSchema, {
        ...base,
        event: order.status === "filled" ? "fill" : "partial_fill",
        executionId: `${order.id}:${event.executionSeq}`,
        price: formatCash(event.price),
        qty: event.qty.toString(),
        positionQty: (position?.qty ?? 0n).toString(),
      });
    }
    default:
      return create(TradeUpdateSchema, { ...base, event: UPDATE_NAMES[event.kind] });
  }
}

/** The events about the account itself, not one of its orders: no trade update, no order. */
type AccountEventKind = "account_created" | "cash_deposited" | "cash_withdrawn" | "trading_state_set";

const UPDATE_NAMES: Record<Exclude<Event["kind"], AccountEventKind | "order_filled">, string> = {
  order_accepted: "new",
  order_cancel_requested: "pending_cancel",
  order_replace_requested: "pending_replace",
  order_canceled: "canceled",
  order_expired: "expired",
  order_rejected: "rejected",
  order_replaced: "replaced",
  order_replace_rejected: "order_replace_rejected",
};

/** The order an event is about (for a replace request, the old order). */
export function orderIdOf(event: Event): string | null {
  switch (event.kind) {
    case "account_created":
    case "cash_deposited":
    case "cash_withdrawn":
    case "trading_state_set":
      return null;
    case "order_accepted":
      return event.terms.id;
    default:
      return event.orderId;
  }
}
