// The domain state machine: decide() turns a command into events or a rejection without
// changing anything; apply() changes the ledger by one event. Both are pure functions of
// their inputs: no clock, no randomness, no I/O. The node decides, logs the events, then
// applies them; replay applies the logged events alone, so it rebuilds the same state.
import { evictClosedOrders, type Account, type ClosedOrderRetention } from "./account.ts";
import { applyEvent } from "./apply.ts";
import type { Command } from "./command.ts";
import { decideDeposit, decideSetTradingState, decideWithdraw } from "./decide-account.ts";
import { decideExecution } from "./decide-execution.ts";
import { decideCancel, decideReplace, decideSubmit } from "./decide-order.ts";
import type { Event } from "./event.ts";
import type { Order } from "./order.ts";
import { reject, type Rejection } from "./rejection.ts";

/** The accounts of one shard, by account id. */
export type Ledger = Map<string, Account>;

export type Decision =
  | { ok: true; events: Event[] }
  /** The same submit was accepted before (same client_order_id, same content): no events. */
  | { ok: true; events: []; duplicateOf: string }
  | { ok: false; rejection: Rejection };

export function decide(ledger: Ledger, command: Command): Decision {
  if (command.kind === "create_account") {
    if (ledger.has(command.accountId)) {
      return { ok: false, rejection: reject("already_exists", `account_id: account ${command.accountId} already exists`) };
    }
    return { ok: true, events: [{ kind: "account_created", atMs: command.atMs }] };
  }
  const account = ledger.get(command.accountId);
  if (account === undefined) {
    return { ok: false, rejection: reject("not_found", `account_id: account ${command.accountId} not found`) };
  }
  switch (command.kind) {
    case "deposit":
      return decideDeposit(account, command);
    case "withdraw":
      return decideWithdraw(account, command);
    case "set_trading_state":
      return decideSetTradingState(account, command);
    case "submit_order":
      return decideSubmit(account, command);
    case "cancel_order":
      return decideCancel(account, command);
    case "replace_order":
      return decideReplace(account, command);
    case "apply_execution":
      return decideExecution(account, command);
  }
}

export function apply(ledger: Ledger, accountId: string, event: Event): void {
  applyEvent(ledger, accountId, event);
}

/**
 * After a record's events are applied (live or in replay): the closed orders retention no
 * longer keeps leave the account, and are returned for the archive. Both paths call this at
 * the same point with the time of the record's last event, so they evict the same orders.
 */
export function evict(ledger: Ledger, accountId: string, events: readonly Event[], retention: ClosedOrderRetention): Order[] {
  const last = events[events.length - 1];
  const account = ledger.get(accountId);
  if (last === undefined || account === undefined) return [];
  return evictClosedOrders(account, retention, last.atMs);
}
