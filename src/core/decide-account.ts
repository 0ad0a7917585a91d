// Decisions on an account's own commands, which an admin gives: deposit, withdraw, and the
// trading state. Order commands check the trading state through tradingRefusal.
import { buyingPower, type Account, type TradingState } from "./account.ts";
import type { Deposit, SetTradingState, Withdraw } from "./command.ts";
import { formatCash } from "./money.ts";
import { reject, type Rejection } from "./rejection.ts";
import type { Decision } from "./state-machine.ts";

export function decideDeposit(account: Account, command: Deposit): Decision {
  if (command.amount <= 0n) return refuse(reject("invalid_argument", "amount: must be positive"));
  const blocked = fundingRefusal(account, "deposits");
  if (blocked !== null) return refuse(blocked);
  return { ok: true, events: [{ kind: "cash_deposited", amount: command.amount, atMs: command.atMs }] };
}

/**
 * A withdrawal takes only cash no open order holds (Alpaca's withdrawable cash): the ledger's
 * invariant heldCash <= cash holds after it, so every open buy can still pay for its fills.
 */
export function decideWithdraw(account: Account, command: Withdraw): Decision {
  if (command.amount <= 0n) return refuse(reject("invalid_argument", "amount: must be positive"));
  const blocked = fundingRefusal(account, "withdrawals");
  if (blocked !== null) return refuse(blocked);
  const withdrawable = buyingPower(account);
  if (command.amount > withdrawable) {
    return refuse(
      reject(
        "failed_precondition",
        `amount: ${formatCash(command.amount)} exceeds the withdrawable cash ${formatCash(withdrawable)} (cash ${formatCash(account.cash)} less ${formatCash(account.heldCash)} held by open orders)`,
      ),
    );
  }
  return { ok: true, events: [{ kind: "cash_withdrawn", amount: command.amount, atMs: command.atMs }] };
}

/** Setting the state the account is already in writes nothing (a retried call is harmless). */
export function decideSetTradingState(account: Account, command: SetTradingState): Decision {
  if (account.tradingState === command.tradingState) return { ok: true, events: [] };
  return { ok: true, events: [{ kind: "trading_state_set", tradingState: command.tradingState, atMs: command.atMs }] };
}

/** Why a new order or a replace is refused in this account's trading state, or null if it is not. */
export function tradingRefusal(account: Account, what: "new orders" | "replaces"): Rejection | null {
  if (account.tradingState === "active") return null;
  return stateRefusal(account.id, account.tradingState, what);
}

function fundingRefusal(account: Account, what: "deposits" | "withdrawals"): Rejection | null {
  if (account.tradingState !== "account_blocked") return null;
  return stateRefusal(account.id, account.tradingState, what);
}

function stateRefusal(accountId: string, state: TradingState, what: string): Rejection {
  return reject("failed_precondition", `trading_state: account ${accountId} is ${state}; ${what} are refused`);
}

function refuse(rejection: Rejection): Decision {
  return { ok: false, rejection };
}
