// Applying events. An event is a fact already in the log: applying it cannot fail, so
// anything that does not fit here is a bug and throws.
import { fileOrder, findOrder, newAccount, queueClosedOrder, type Account, type Position } from "./account.ts";
import type { Event, OrderAccepted, OrderFilled, OrderReplaceRequested } from "./event.ts";
import { isOpen, type Order, type OrderStatus, type OrderTerms } from "./order.ts";
import { holdCashOf, holdQtyOf } from "./order-terms.ts";
import type { Ledger } from "./state-machine.ts";

export function applyEvent(ledger: Ledger, accountId: string, event: Event): void {
  if (event.kind === "account_created") {
    if (ledger.has(accountId)) throw new Error(`invariant: account ${accountId} created twice`);
    ledger.set(accountId, newAccount(accountId, event.atMs));
    return;
  }
  const account = ledger.get(accountId);
  if (account === undefined) throw new Error(`invariant: event ${event.kind} for unknown account ${accountId}`);
  account.eventSeq += 1;
  switch (event.kind) {
    case "cash_deposited":
      account.cash += event.amount;
      return;
    case "cash_withdrawn":
      account.cash -= event.amount;
      return;
    case "trading_state_set":
      account.tradingState = event.tradingState;
      return;
    case "order_accepted":
      return acceptOrder(account, event);
    case "order_cancel_requested":
      setStatus(orderOf(account, event.orderId), "pending_cancel", event.atMs);
      return;
    case "order_replace_requested":
      return requestReplace(account, event);
    case "order_filled":
      return fill(account, event);
    case "order_canceled":
      close(account, event.orderId, "canceled", event.atMs);
      return;
    case "order_expired":
      close(account, event.orderId, "expired", event.atMs);
      return;
    case "order_rejected":
      close(account, event.orderId, "rejected", event.atMs).rejectReason = event.reason;
      return;
    case "order_replaced":
      return confirmReplace(account, event.orderId, event.newOrderId, event.atMs);
    case "order_replace_rejected":
      return refuseReplace(account, event.orderId, event.newOrderId, event.reason, event.atMs);
  }
}

function acceptOrder(account: Account, event: OrderAccepted): void {
  openOrder(account, event.terms, "new", event.holdCash, event.holdQty, event.atMs);
}

function requestReplace(account: Account, event: OrderReplaceRequested): void {
  const old = orderOf(account, event.orderId);
  old.pendingReplace = { newOrderId: event.terms.id, filledQty: old.filledQty };
  setStatus(old, "pending_replace", event.atMs);
  openOrder(account, event.terms, "pending_new", event.holdCash, event.holdQty, event.atMs);
}

function openOrder(account: Account, terms: OrderTerms, status: OrderStatus, holdCash: bigint, holdQty: bigint, atMs: number): Order {
  // Field by field rather than a spread of the terms: one allocation of a fixed shape, and
  // nothing but Order's own fields kept for the order's life (the terms may come from a decoder).
  const order: Order = {
    id: terms.id,
    clientOrderId: terms.clientOrderId,
    symbol: terms.symbol,
    side: terms.side,
    type: terms.type,
    timeInForce: terms.timeInForce,
    qty: terms.qty,
    limitPrice: terms.limitPrice,
    stopPrice: terms.stopPrice,
    collarPrice: terms.collarPrice,
    replaces: terms.replaces,
    accountId: account.id,
    listPosition: account.ordersCreated,
    status,
    filledQty: 0n,
    filledNotional: 0n,
    holdCash,
    holdQty,
    lastExecutionSeq: 0,
    pendingReplace: null,
    replacedBy: null,
    rejectReason: "",
    createdAtMs: atMs,
    updatedAtMs: atMs,
  };
  fileOrder(account, order);
  // Born holding its amounts (no 0n + hold: bigint arithmetic allocates); the totals follow.
  addToHeldTotals(account, order.symbol, holdCash, holdQty);
  return order;
}

function fill(account: Account, event: OrderFilled): void {
  const order = orderOf(account, event.orderId);
  const notional = event.qty * event.price;
  order.filledQty += event.qty;
  order.filledNotional += notional;
  order.lastExecutionSeq = event.executionSeq;
  const position = positionOf(account, order.symbol);
  if (order.side === "buy") {
    changeHold(account, order, -(event.qty * (order.collarPrice ?? 0n)), 0n);
    account.cash -= notional;
    position.qty += event.qty;
    position.costBasis += notional;
  } else {
    changeHold(account, order, 0n, -event.qty);
    const costSold = position.qty === event.qty ? position.costBasis : (position.costBasis * event.qty) / position.qty;
    position.qty -= event.qty;
    position.costBasis -= costSold;
    account.cash += notional;
  }
  if (order.filledQty === order.qty) {
    changeHold(account, order, -order.holdCash, -order.holdQty);
    setStatus(order, "filled", event.atMs);
    queueClosedOrder(account, order);
  } else {
    const partial = order.status === "new" || order.status === "partially_filled";
    setStatus(order, partial ? "partially_filled" : order.status, event.atMs);
  }
  if (position.qty === 0n && position.heldQty === 0n) account.positions.delete(position.symbol);
}

function close(account: Account, orderId: string, status: "canceled" | "expired" | "rejected", atMs: number): Order {
  const order = orderOf(account, orderId);
  if (!isOpen(order.status)) throw new Error(`invariant: closing order ${orderId} that is already ${order.status}`);
  changeHold(account, order, -order.holdCash, -order.holdQty);
  setStatus(order, status, atMs);
  queueClosedOrder(account, order);
  return order;
}

function confirmReplace(account: Account, orderId: string, newOrderId: string, atMs: number): void {
  const old = orderOf(account, orderId);
  const replacement = orderOf(account, newOrderId);
  changeHold(account, old, -old.holdCash, -old.holdQty);
  old.pendingReplace = null;
  old.replacedBy = newOrderId;
  setStatus(old, "replaced", atMs);
  queueClosedOrder(account, old);
  const holdCash = holdCashOf(replacement, replacement.qty);
  const holdQty = holdQtyOf(replacement, replacement.qty);
  changeHold(account, replacement, holdCash - replacement.holdCash, holdQty - replacement.holdQty);
  setStatus(replacement, "new", atMs);
}

function refuseReplace(account: Account, orderId: string, newOrderId: string, reason: string, atMs: number): void {
  const old = orderOf(account, orderId);
  old.pendingReplace = null;
  if (old.status === "pending_replace") {
    setStatus(old, old.filledQty > 0n ? "partially_filled" : "new", atMs);
  }
  close(account, newOrderId, "rejected", atMs).rejectReason = reason;
}

/**
 * Every change to an open order's hold goes through here, and every change to the account's
 * held totals through addToHeldTotals, so the totals always equal the orders' sum.
 */
function changeHold(account: Account, order: Order, cashDelta: bigint, qtyDelta: bigint): void {
  if (cashDelta !== 0n) order.holdCash += cashDelta;
  if (qtyDelta !== 0n) order.holdQty += qtyDelta;
  addToHeldTotals(account, order.symbol, cashDelta, qtyDelta);
}

/** Zero deltas are skipped: a buy holds no shares and a sell no cash, and bigint + 0n allocates. */
function addToHeldTotals(account: Account, symbol: string, cashDelta: bigint, qtyDelta: bigint): void {
  if (cashDelta !== 0n) account.heldCash += cashDelta;
  if (qtyDelta !== 0n) positionOf(account, symbol).heldQty += qtyDelta;
}

function setStatus(order: Order, status: OrderStatus, atMs: number): void {
  // A closed order's last update is when it closed (closedAtMs): nothing may move it after.
  if (!isOpen(order.status)) throw new Error(`invariant: order ${order.id} is ${order.status} and cannot become ${status}`);
  order.status = status;
  order.updatedAtMs = atMs;
}

function orderOf(account: Account, orderId: string): Order {
  const order = findOrder(account, orderId);
  if (order === undefined) throw new Error(`invariant: event for unknown order ${orderId} in account ${account.id}`);
  return order;
}

function positionOf(account: Account, symbol: string): Position {
  let position = account.positions.get(symbol);
  if (position === undefined) {
    position = { symbol, qty: 0n, heldQty: 0n, costBasis: 0n };
    account.positions.set(symbol, position);
  }
  return position;
}

