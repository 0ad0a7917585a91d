// The ledger's invariants, checked after every applied command, in production too: a broken
// one means the OMS would misstate a client's money, so the node stops rather than go on.
import { findOrder, type Account } from "./account.ts";
import { hotOrderCount, hotOrderSlots } from "./order-list.ts";
import { isOpen, remainingQty } from "./order.ts";

export function checkInvariants(account: Account): void {
  const fail = (what: string): never => {
    throw new Error(`invariant broken in account ${account.id}: ${what}`);
  };
  if (account.cash < 0n) fail(`cash ${account.cash} < 0`);
  if (account.heldCash < 0n) fail(`heldCash ${account.heldCash} < 0`);
  if (account.heldCash > account.cash) fail(`heldCash ${account.heldCash} > cash ${account.cash}`);
  let heldCash = 0n;
  const heldQty = new Map<string, bigint>();
  let previousPosition = -1;
  let closedHot = 0;
  for (const order of hotOrderSlots(account)) {
    if (order === null) continue;
    if (order.listPosition <= previousPosition) fail(`order ${order.id} at list position ${order.listPosition} after ${previousPosition}`);
    previousPosition = order.listPosition;
    if (findOrder(account, order.id) !== order) fail(`hot order ${order.id} is not filed under its id`);
    if (order.filledQty < 0n || order.filledQty > order.qty) fail(`order ${order.id} filledQty ${order.filledQty} outside 0..${order.qty}`);
    if (!isOpen(order.status)) {
      if (order.holdCash !== 0n || order.holdQty !== 0n) fail(`closed order ${order.id} still holds`);
      closedHot += 1;
      continue;
    }
    if (order.holdCash < 0n || order.holdQty < 0n) fail(`order ${order.id} holds a negative amount`);
    if (order.status !== "pending_new") {
      const expectedCash = order.side === "buy" ? remainingQty(order) * (order.collarPrice ?? 0n) : 0n;
      const expectedQty = order.side === "sell" ? remainingQty(order) : 0n;
      if (order.holdCash !== expectedCash || order.holdQty !== expectedQty) fail(`order ${order.id} hold does not match its remaining qty`);
    }
    heldCash += order.holdCash;
    heldQty.set(order.symbol, (heldQty.get(order.symbol) ?? 0n) + order.holdQty);
  }
  if (previousPosition >= account.ordersCreated) fail(`order at list position ${previousPosition} of ${account.ordersCreated} created`);
  if (hotOrderCount(account) !== account.orders.size) fail(`${hotOrderCount(account)} hot orders listed, ${account.orders.size} filed`);
  checkClosedQueue(account, closedHot, fail);
  if (heldCash !== account.heldCash) fail(`heldCash ${account.heldCash} != sum of open orders' holds ${heldCash}`);
  for (const position of account.positions.values()) {
    if (position.qty < 0n) fail(`position ${position.symbol} qty ${position.qty} < 0`);
    if (position.heldQty < 0n || position.heldQty > position.qty) fail(`position ${position.symbol} heldQty ${position.heldQty} outside 0..${position.qty}`);
    if (position.costBasis < 0n) fail(`position ${position.symbol} cost basis < 0`);
    if ((heldQty.get(position.symbol) ?? 0n) !== position.heldQty) fail(`position ${position.symbol} heldQty != sum of open sells`);
  }
  for (const [symbol, qty] of heldQty) {
    if (qty !== 0n && !account.positions.has(symbol)) fail(`open sells hold ${qty} ${symbol} with no position`);
  }
}

/**
 * The checks that cost O(1) per command, for the hot path: the account's totals and the one
 * order and position the command touched. checkInvariants() does the whole account and runs
 * after recovery and in the tests.
 */
export function checkTouched(account: Account, orderId: string | null): void {
  const fail = (what: string) => {
    throw new Error(`invariant broken in account ${account.id}: ${what}`);
  };
  if (account.cash < 0n) fail(`cash ${account.cash} < 0`);
  if (account.heldCash < 0n || account.heldCash > account.cash) fail(`heldCash ${account.heldCash} outside 0..${account.cash}`);
  if (orderId === null) return;
  const order = findOrder(account, orderId);
  if (order === undefined) return;
  if (order.filledQty > order.qty) fail(`order ${order.id} overfilled`);
  if (!isOpen(order.status) && (order.holdCash !== 0n || order.holdQty !== 0n)) fail(`closed order ${order.id} still holds`);
  const position = account.positions.get(order.symbol);
  if (position !== undefined && (position.qty < 0n || position.heldQty < 0n || position.heldQty > position.qty)) {
    fail(`position ${position.symbol} qty ${position.qty} held ${position.heldQty}`);
  }
}

/** Every hot closed order waits in the eviction queue exactly once, and nothing else does. */
function checkClosedQueue(account: Account, closedHot: number, fail: (what: string) => never): void {
  const queued = new Set<string>();
  for (let index = account.closedHead; index < account.closedOrders.length; index += 1) {
    const order = account.closedOrders[index];
    if (order === undefined || isOpen(order.status)) fail(`eviction queue slot ${index} holds no closed order`);
    if (findOrder(account, order.id) !== order) fail(`queued closed order ${order.id} is not hot`);
    if (queued.has(order.id)) fail(`closed order ${order.id} queued twice`);
    queued.add(order.id);
  }
  if (queued.size !== closedHot) fail(`${closedHot} hot closed orders, ${queued.size} queued for eviction`);
}
