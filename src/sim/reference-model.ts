// The reference model: what the simulated clients were told, and so what any recovered ledger
// must show. It knows nothing of the core's events; it keeps each command's fate as the client
// saw it: acked (must be in the ledger), refused (must not be), or in doubt (an ack lost to a
// crash or a timeout, or a write cut short: it may be there or not, but if it is, it is whole).
//
// Deposits are made identifiable so that "may or may not" stays exact: the i-th deposit into
// an account is DEPOSIT_BASE + 2^i cents, so the cash a ledger shows, less what its fills
// moved, names exactly which deposits it includes.
import type { Account } from "../core/account.ts";
import { checkInvariants } from "../core/invariants.ts";
import type { Order } from "../core/order.ts";

export type Fate = "sent" | "acked" | "refused" | "doubt";

/** Deposits per account the bits can tell apart (more are not sent). */
export const DEPOSITS_PER_ACCOUNT_MAX = 20;
/** A deposit is whole cents (at most two decimals on the wire): $0.01 in the core's units. */
const CENT = 100n;
/** 2^24 cents ($167,772.16): above the sum of every identifying bit, and under the wire's largest deposit. */
export const DEPOSIT_BASE_CENTS = 1n << 24n;

export interface ModelOrder {
  orderId: string;
  accountId: string;
  symbol: string;
  side: "buy" | "sell";
  qty: bigint;
  limitPrice: bigint;
  fate: Fate;
  cancel: Fate | null;
}

interface ModelAccount {
  created: Fate | null;
  deposits: Fate[];
  orders: ModelOrder[];
}

export class ReferenceModel {
  readonly accounts = new Map<string, ModelAccount>();
  readonly orders = new Map<string, ModelOrder>();

  account(accountId: string): ModelAccount {
    let account = this.accounts.get(accountId);
    if (account === undefined) {
      account = { created: null, deposits: [], orders: [] };
      this.accounts.set(accountId, account);
    }
    return account;
  }

  /** In the core's units of $0.0001. */
  depositAmount(index: number): bigint {
    return (DEPOSIT_BASE_CENTS + (1n << BigInt(index))) * CENT;
  }

  /** Acked orders, for the summary: each was looked for in every ledger checked. */
  ackedOrders(): number {
    let count = 0;
    for (const order of this.orders.values()) if (order.fate === "acked") count += 1;
    return count;
  }

  /**
   * Every way the ledger may differ from what the clients were told, one line each. `ledger`
   * gives an account as the node shows it (undefined if the node says it does not exist);
   * `venueFilled` the qty the venue filled of an order.
   */
  check(ledger: (accountId: string) => Account | undefined, venueFilled: (orderId: string) => bigint): { problems: string[]; lost: number } {
    const problems: string[] = [];
    let lost = 0;
    for (const [accountId, model] of this.accounts) {
      const account = ledger(accountId);
      if (account === undefined) {
        if (model.created === "acked") {
          problems.push(`lost: account ${accountId} was acked but is missing`);
          lost += 1;
        }
        for (const order of model.orders) if (order.fate === "acked") {
          problems.push(`lost: order ${order.orderId} was acked but its account ${accountId} is missing`);
          lost += 1;
        }
        continue;
      }
      if (model.created === null || model.created === "refused") problems.push(`divergence: account ${accountId} exists but its creation was ${model.created ?? "never sent"}`);
      try {
        checkInvariants(account);
      } catch (error) {
        problems.push(`invariant: ${String(error)}`);
      }
      lost += this.checkOrders(account, model, venueFilled, problems);
      lost += this.checkCash(account, model, problems);
    }
    return { problems, lost };
  }

  private checkOrders(account: Account, model: ModelAccount, venueFilled: (orderId: string) => bigint, problems: string[]): number {
    let lost = 0;
    for (const order of account.orders.values()) {
      const sent = this.orders.get(order.id);
      if (sent === undefined || sent.accountId !== account.id || sent.fate === "refused") {
        problems.push(`divergence: order ${order.id} is in the ledger but was ${sent?.fate ?? "never sent"}`);
        continue;
      }
      if (order.symbol !== sent.symbol || order.side !== sent.side || order.qty !== sent.qty || order.limitPrice !== sent.limitPrice) {
        problems.push(`divergence: order ${order.id} has terms ${termsOf(order)} but was sent as ${sent.side} ${sent.qty} ${sent.symbol} @ ${sent.limitPrice}`);
      }
      if (sent.cancel === "acked" && (order.status === "new" || order.status === "partially_filled")) {
        problems.push(`lost: order ${order.id}'s cancel was acked but the order is ${order.status}`);
        lost += 1;
      }
      if (order.filledQty > venueFilled(order.id)) problems.push(`divergence: order ${order.id} filled ${order.filledQty} but the venue filled ${venueFilled(order.id)}`);
      if (order.filledNotional !== order.filledQty * sent.limitPrice) problems.push(`divergence: order ${order.id} notional ${order.filledNotional} is not its fills at its limit`);
    }
    for (const sent of model.orders) {
      if (sent.fate === "acked" && !account.orders.has(sent.orderId)) {
        problems.push(`lost: order ${sent.orderId} was acked but is missing`);
        lost += 1;
      }
    }
    return lost;
  }

  /** The deposits the cash implies must include every acked one and only ones sent. */
  private checkCash(account: Account, model: ModelAccount, problems: string[]): number {
    let deposited = account.cash;
    const shares = new Map<string, bigint>();
    for (const order of account.orders.values()) {
      deposited += order.side === "buy" ? order.filledNotional : -order.filledNotional;
      shares.set(order.symbol, (shares.get(order.symbol) ?? 0n) + (order.side === "buy" ? order.filledQty : -order.filledQty));
    }
    for (const [symbol, qty] of shares) {
      const held = account.positions.get(symbol)?.qty ?? 0n;
      if (held !== qty) problems.push(`divergence: account ${account.id} holds ${held} ${symbol} but its fills net ${qty}`);
    }
    const cents = deposited / CENT;
    const count = cents / DEPOSIT_BASE_CENTS;
    const bits = cents % DEPOSIT_BASE_CENTS;
    let lost = 0;
    let included = 0n;
    for (let index = 0; index < DEPOSITS_PER_ACCOUNT_MAX; index += 1) {
      const present = ((bits >> BigInt(index)) & 1n) === 1n;
      const fate = model.deposits[index];
      if (present) included += 1n;
      if (present && (fate === undefined || fate === "refused")) problems.push(`divergence: account ${account.id} includes deposit #${index}, which was ${fate ?? "never sent"}`);
      if (!present && fate === "acked") {
        problems.push(`lost: account ${account.id}'s deposit #${index} was acked but is missing`);
        lost += 1;
      }
    }
    if (deposited < 0n || deposited % CENT !== 0n || bits >> BigInt(DEPOSITS_PER_ACCOUNT_MAX) !== 0n || included !== count) {
      problems.push(`divergence: account ${account.id}'s cash ${account.cash} is no sum of deposits less fills`);
    }
    return lost;
  }
}

function termsOf(order: Order): string {
  return `${order.side} ${order.qty} ${order.symbol} @ ${order.limitPrice}`;
}
