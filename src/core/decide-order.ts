// Decisions on client order commands: submit, cancel, replace.
import { availableQty, buyingPower, findOrder, orderByClientOrderId, type Account } from "./account.ts";
import type { CancelOrder, ReplaceOrder, SubmitOrder } from "./command.ts";
import { tradingRefusal } from "./decide-account.ts";
import type { Event } from "./event.ts";
import { formatCash, type Cash, type Qty } from "./money.ts";
import { remainingQty, type Order, type OrderTerms } from "./order.ts";
import { collarOf, holdCashOf, holdQtyOf, termsProblem } from "./order-terms.ts";
import { reject, type Rejection } from "./rejection.ts";
import type { Decision } from "./state-machine.ts";

export function decideSubmit(account: Account, command: SubmitOrder): Decision {
  const { type, timeInForce, qty, limitPrice, stopPrice } = command;
  const problem = termsProblem(type, timeInForce, qty, limitPrice, stopPrice);
  if (problem !== null) return { ok: false, rejection: problem };
  const collarPrice = collarOf(command.side, type, limitPrice, stopPrice, command.askPrice);
  const earlier = orderByClientOrderId(account, command.clientOrderId);
  if (earlier !== undefined) {
    if (sameSubmit(earlier, command)) return { ok: true, events: [], duplicateOf: earlier.id };
    return refuse("already_exists", `client_order_id: "${command.clientOrderId}" was already used for a different order`);
  }
  // After the duplicate check: a retried submit of an order accepted before the block is
  // answered with that order, as any retry is; it makes no new order.
  const blocked = tradingRefusal(account, "new orders");
  if (blocked !== null) return { ok: false, rejection: blocked };
  if (findOrder(account, command.orderId) !== undefined) {
    return refuse("already_exists", `order_id: ${command.orderId} already exists`);
  }
  const terms: OrderTerms = {
    id: command.orderId,
    clientOrderId: command.clientOrderId,
    symbol: command.symbol,
    side: command.side,
    type,
    timeInForce,
    qty,
    limitPrice,
    stopPrice,
    collarPrice,
    replaces: null,
  };
  const holdCash = holdCashOf(terms, qty);
  const holdQty = holdQtyOf(terms, qty);
  const shortfall = holdShortfall(account, terms, holdCash, holdQty);
  if (shortfall !== null) return { ok: false, rejection: shortfall };
  return { ok: true, events: [{ kind: "order_accepted", terms, holdCash, holdQty, atMs: command.atMs }] };
}

export function decideCancel(account: Account, command: CancelOrder): Decision {
  const order = findOrder(account, command.orderId);
  if (order === undefined) return refuse("not_found", `order_id: order ${command.orderId} not found`);
  switch (order.status) {
    case "new":
    case "partially_filled":
      return { ok: true, events: [{ kind: "order_cancel_requested", orderId: order.id, atMs: command.atMs }] };
    case "pending_cancel":
      return { ok: true, events: [] };
    case "pending_replace":
    case "pending_new":
      return refuse("failed_precondition", `order_id: order ${order.id} is ${order.status} and cannot be canceled until the replace completes`);
    default:
      return refuse("failed_precondition", `order_id: order ${order.id} is ${order.status} and cannot be canceled`);
  }
}

export function decideReplace(account: Account, command: ReplaceOrder): Decision {
  const old = findOrder(account, command.orderId);
  if (old === undefined) return refuse("not_found", `order_id: order ${command.orderId} not found`);
  if (old.status !== "new" && old.status !== "partially_filled") {
    return refuse("failed_precondition", `order_id: order ${old.id} is ${old.status} and cannot be replaced`);
  }
  const blocked = tradingRefusal(account, "replaces");
  if (blocked !== null) return { ok: false, rejection: blocked };
  if (command.qty === null && command.limitPrice === null && command.stopPrice === null && command.timeInForce === null) {
    return refuse("invalid_argument", "qty, limit_price, stop_price, time_in_force: order parameters are not changed");
  }
  const timeInForce = command.timeInForce ?? old.timeInForce;
  const qty = command.qty ?? remainingQty(old);
  const limitPrice = command.limitPrice ?? old.limitPrice;
  const stopPrice = command.stopPrice ?? old.stopPrice;
  const problem = termsProblem(old.type, timeInForce, qty, limitPrice, stopPrice);
  if (problem !== null) return { ok: false, rejection: problem };
  const terms: OrderTerms = {
    id: command.newOrderId,
    clientOrderId: command.clientOrderId,
    symbol: old.symbol,
    side: old.side,
    type: old.type,
    timeInForce,
    qty,
    limitPrice,
    stopPrice,
    collarPrice: collarOf(old.side, old.type, limitPrice, stopPrice, command.askPrice),
    replaces: old.id,
  };
  if (unchanged(old, terms)) {
    return refuse("invalid_argument", "qty, limit_price, stop_price, time_in_force: order parameters are not changed");
  }
  if (orderByClientOrderId(account, command.clientOrderId) !== undefined) {
    return refuse("already_exists", `client_order_id: "${command.clientOrderId}" is already in use`);
  }
  if (findOrder(account, command.newOrderId) !== undefined) {
    return refuse("already_exists", `order_id: ${command.newOrderId} already exists`);
  }
  // Buying power holds the larger of the old and the new order while the venue decides.
  const holdCash = max0(holdCashOf(terms, qty) - old.holdCash);
  const holdQty = max0(holdQtyOf(terms, qty) - old.holdQty);
  const shortfall = holdShortfall(account, terms, holdCash, holdQty);
  if (shortfall !== null) return { ok: false, rejection: shortfall };
  const event: Event = { kind: "order_replace_requested", orderId: old.id, terms, holdCash, holdQty, atMs: command.atMs };
  return { ok: true, events: [event] };
}

function holdShortfall(account: Account, terms: OrderTerms, holdCash: Cash, holdQty: Qty): Rejection | null {
  if (terms.side === "buy") {
    const power = buyingPower(account);
    if (holdCash > power) {
      return reject(
        "failed_precondition",
        `insufficient buying power: order needs ${formatCash(holdCash)}, buying power is ${formatCash(power)}`,
      );
    }
    return null;
  }
  const available = availableQty(account, terms.symbol);
  if (holdQty > available) {
    return reject("failed_precondition", `insufficient qty available for order (requested: ${holdQty}, available: ${available})`);
  }
  return null;
}

/**
 * Whether a resubmit with a used client_order_id is the same order (idempotent: answer with
 * the earlier one) rather than a different one. Only a submitted order counts: a replacement's
 * client_order_id was never a submit, so a submit reusing it is a different order.
 */
function sameSubmit(earlier: Order, command: SubmitOrder): boolean {
  return (
    earlier.replaces === null &&
    earlier.symbol === command.symbol &&
    earlier.side === command.side &&
    earlier.type === command.type &&
    earlier.timeInForce === command.timeInForce &&
    earlier.qty === command.qty &&
    earlier.limitPrice === command.limitPrice &&
    earlier.stopPrice === command.stopPrice
  );
}

function unchanged(old: Order, terms: OrderTerms): boolean {
  return (
    terms.qty === remainingQty(old) &&
    terms.limitPrice === old.limitPrice &&
    terms.stopPrice === old.stopPrice &&
    terms.timeInForce === old.timeInForce
  );
}

function max0(value: bigint): bigint {
  return value > 0n ? value : 0n;
}

function refuse(code: Rejection["code"], message: string): Decision {
  return { ok: false, rejection: reject(code, message) };
}
