// Command builders and small ledger setups for the core's tests. Every builder has defaults
// that make a valid command, so a test states only what it is about.
import { expect } from "bun:test";
import { findOrder, type Account, type Position, type TradingState } from "../../src/core/account.ts";
import type {
  ApplyExecution,
  CancelOrder,
  Command,
  CreateAccount,
  Deposit,
  Execution,
  ReplaceOrder,
  SetTradingState,
  SubmitOrder,
  Withdraw,
} from "../../src/core/command.ts";
import type { Event } from "../../src/core/event.ts";
import { parseDecimal, type Cash, type Price, type Qty } from "../../src/core/money.ts";
import type { Order, OrderStatus } from "../../src/core/order.ts";
import type { RejectionCode } from "../../src/core/rejection.ts";
import { apply, decide, type Decision, type Ledger } from "../../src/core/state-machine.ts";

export const ACCOUNT_ID = "acct-1";
export const SYMBOL = "AAPL";
export const AT_MS = 1_700_000_000_000;

/** "189.25" → 1_892_500n: dollars in units of $0.0001, exact. */
export function usd(text: string): Cash {
  const parsed = parseDecimal(text, 4, 4);
  if (!parsed.ok) throw new Error(`usd(${text}): ${parsed.problem}`);
  return parsed.value;
}

export function createAccount(accountId: string = ACCOUNT_ID): CreateAccount {
  return { kind: "create_account", accountId, atMs: AT_MS };
}

export function deposit(amount: Cash, accountId: string = ACCOUNT_ID): Deposit {
  return { kind: "deposit", accountId, amount, atMs: AT_MS };
}

export function withdraw(amount: Cash, accountId: string = ACCOUNT_ID): Withdraw {
  return { kind: "withdraw", accountId, amount, atMs: AT_MS };
}

export function setTradingState(tradingState: TradingState, accountId: string = ACCOUNT_ID): SetTradingState {
  return { kind: "set_trading_state", accountId, tradingState, atMs: AT_MS };
}

/** A limit buy of 10 AAPL at $10.00, day; override what the test is about. */
export function submit(fields: Partial<Omit<SubmitOrder, "kind">> = {}): SubmitOrder {
  const orderId = fields.orderId ?? "ord-1";
  return {
    kind: "submit_order",
    accountId: ACCOUNT_ID,
    orderId,
    clientOrderId: orderId,
    symbol: SYMBOL,
    side: "buy",
    type: "limit",
    timeInForce: "day",
    qty: 10n,
    limitPrice: usd("10"),
    stopPrice: null,
    askPrice: usd("10"),
    atMs: AT_MS,
    ...fields,
  };
}

export function cancel(orderId: string, accountId: string = ACCOUNT_ID): CancelOrder {
  return { kind: "cancel_order", accountId, orderId, atMs: AT_MS };
}

/** Replaces ord-1 by ord-2 keeping everything (all fields null); override what changes. */
export function replace(fields: Partial<Omit<ReplaceOrder, "kind">> = {}): ReplaceOrder {
  const newOrderId = fields.newOrderId ?? "ord-2";
  return {
    kind: "replace_order",
    accountId: ACCOUNT_ID,
    orderId: "ord-1",
    newOrderId,
    clientOrderId: newOrderId,
    qty: null,
    limitPrice: null,
    stopPrice: null,
    timeInForce: null,
    askPrice: usd("10"),
    atMs: AT_MS,
    ...fields,
  };
}

export function execution(orderId: string, report: Execution, accountId: string = ACCOUNT_ID): ApplyExecution {
  return { kind: "apply_execution", accountId, orderId, execution: report, atMs: AT_MS };
}

export function fill(orderId: string, seq: number, qty: Qty, price: Price): ApplyExecution {
  return execution(orderId, { kind: "fill", seq, qty, price });
}

export function venueCanceled(orderId: string): ApplyExecution {
  return execution(orderId, { kind: "canceled", reason: "canceled by venue" });
}

export function venueExpired(orderId: string): ApplyExecution {
  return execution(orderId, { kind: "expired" });
}

export function venueRejected(orderId: string): ApplyExecution {
  return execution(orderId, { kind: "rejected", reason: "venue halted" });
}

export function venueReplaced(orderId: string, newOrderId: string): ApplyExecution {
  return execution(orderId, { kind: "replaced", newOrderId });
}

export function venueReplaceRejected(orderId: string, newOrderId: string): ApplyExecution {
  return execution(orderId, { kind: "replace_rejected", newOrderId, reason: "too late to replace" });
}

/** Decides and, when accepted, applies every event: what a node does after the log write. */
export function run(ledger: Ledger, command: Command): Decision {
  const decision = decide(ledger, command);
  if (decision.ok) for (const event of decision.events) apply(ledger, command.accountId, event);
  return decision;
}

/** Setup step that must succeed; a rejection here means the setup, not the test, is wrong. */
export function accept(ledger: Ledger, command: Command): Event[] {
  const decision = run(ledger, command);
  if (!decision.ok) {
    throw new Error(`setup ${command.kind} rejected: ${decision.rejection.code} ${decision.rejection.message}`);
  }
  return decision.events;
}

/** A ledger with acct-1 funded with `cash`. */
export function fundedLedger(cash: Cash = usd("10000")): Ledger {
  const ledger: Ledger = new Map();
  accept(ledger, createAccount());
  if (cash > 0n) accept(ledger, deposit(cash));
  return ledger;
}

/** A ledger where acct-1 owns `qty` shares of `symbol` bought at `price`, and `cash` left over. */
export function ledgerWithShares(qty: Qty, price: Price, cash: Cash = usd("10000"), symbol: string = SYMBOL): Ledger {
  const ledger = fundedLedger(cash + qty * price);
  accept(ledger, submit({ orderId: "setup-buy", symbol, qty, limitPrice: price, askPrice: price }));
  accept(ledger, fill("setup-buy", 1, qty, price));
  return ledger;
}

export function accountOf(ledger: Ledger, accountId: string = ACCOUNT_ID): Account {
  const account = ledger.get(accountId);
  if (account === undefined) throw new Error(`test expected account ${accountId} to exist`);
  return account;
}

export function orderOf(ledger: Ledger, orderId: string, accountId: string = ACCOUNT_ID): Order {
  const order = findOrder(accountOf(ledger, accountId), orderId);
  if (order === undefined) throw new Error(`test expected order ${orderId} to exist`);
  return order;
}

export function positionOf(ledger: Ledger, symbol: string = SYMBOL, accountId: string = ACCOUNT_ID): Position {
  const position = accountOf(ledger, accountId).positions.get(symbol);
  if (position === undefined) throw new Error(`test expected a ${symbol} position`);
  return position;
}

/** The decision is a rejection with this code whose message names `field` first. */
export function expectRejected(decision: Decision, code: RejectionCode, field?: string): string {
  expect(decision.ok).toBe(false);
  if (decision.ok) throw new Error("unreachable");
  expect(decision.rejection.code).toBe(code);
  if (field !== undefined) expect(decision.rejection.message).toStartWith(`${field}:`);
  return decision.rejection.message;
}

/** The decision is accepted with exactly these event kinds, in order. */
export function expectEvents(decision: Decision, kinds: Event["kind"][]): Event[] {
  if (!decision.ok) throw new Error(`expected acceptance, got ${decision.rejection.code}: ${decision.rejection.message}`);
  expect(decision.events.map((event) => event.kind)).toEqual(kinds);
  return decision.events;
}

/**
 * A canonical text of a ledger: Maps keep their insertion order (replay must rebuild it too),
 * bigints are tagged so 1n and 1 differ. Equal text means structurally equal state.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === "bigint") return `${inner}n`;
    if (inner instanceof Map) return { map: [...inner.entries()] };
    if (inner instanceof Set) return { set: [...inner.values()] };
    if (inner === undefined) return "<undefined>";
    return inner;
  });
}

/**
 * A funded ledger holding a limit buy of 10 AAPL at $10 (ord-1) brought into `status` through
 * the ordinary commands; returns the id of the order that is in that status.
 */
export function ledgerWithOrderIn(status: OrderStatus): { ledger: Ledger; orderId: string } {
  const ledger = fundedLedger(usd("10000"));
  accept(ledger, submit({ orderId: "ord-1", qty: 10n, limitPrice: usd("10") }));
  switch (status) {
    case "new":
      break;
    case "partially_filled":
      accept(ledger, fill("ord-1", 1, 4n, usd("10")));
      break;
    case "filled":
      accept(ledger, fill("ord-1", 1, 10n, usd("10")));
      break;
    case "canceled":
      accept(ledger, venueCanceled("ord-1"));
      break;
    case "expired":
      accept(ledger, venueExpired("ord-1"));
      break;
    case "rejected":
      accept(ledger, venueRejected("ord-1"));
      break;
    case "pending_cancel":
      accept(ledger, cancel("ord-1"));
      break;
    case "pending_replace":
      accept(ledger, replace({ limitPrice: usd("9") }));
      break;
    case "pending_new":
      accept(ledger, replace({ limitPrice: usd("9") }));
      return { ledger, orderId: "ord-2" };
    case "replaced":
      accept(ledger, replace({ limitPrice: usd("9") }));
      accept(ledger, venueReplaced("ord-1", "ord-2"));
      break;
  }
  expect(orderOf(ledger, "ord-1").status).toBe(status);
  return { ledger, orderId: "ord-1" };
}
