// The admin's account commands beyond create and deposit: withdraw takes only cash no open order
// holds, and the trading state blocks new orders and replaces (and, account_blocked, transfers)
// while cancels and the venue's fills go on.
import { describe, expect, test } from "bun:test";
import { buyingPower } from "../../src/core/account.ts";
import { checkInvariants } from "../../src/core/invariants.ts";
import { decide } from "../../src/core/state-machine.ts";
import {
  accept,
  accountOf,
  canonical,
  cancel,
  deposit,
  expectEvents,
  expectRejected,
  fill,
  fundedLedger,
  ledgerWithOrderIn,
  orderOf,
  replace,
  run,
  setTradingState,
  submit,
  usd,
  withdraw,
} from "./fixtures.ts";

describe("withdraw", () => {
  test("a withdrawal from an unknown account is not_found", () => {
    expectRejected(decide(new Map(), withdraw(usd("1"), "nobody")), "not_found", "account_id");
  });

  test("a zero or negative withdrawal is invalid_argument naming amount", () => {
    const ledger = fundedLedger(usd("50"));
    expectRejected(decide(ledger, withdraw(0n)), "invalid_argument", "amount");
    expectRejected(decide(ledger, withdraw(-1n)), "invalid_argument", "amount");
    expect(accountOf(ledger).cash).toBe(usd("50"));
  });

  test("a withdrawal emits cash_withdrawn and lowers cash and buying power by exactly the amount", () => {
    const ledger = fundedLedger(usd("50"));
    const events = expectEvents(run(ledger, withdraw(usd("12.34"))), ["cash_withdrawn"]);
    expect(events[0]).toMatchObject({ kind: "cash_withdrawn", amount: usd("12.34") });
    expect(accountOf(ledger).cash).toBe(usd("37.66"));
    expect(buyingPower(accountOf(ledger))).toBe(usd("37.66"));
  });

  test("all the cash may be withdrawn when no order holds any", () => {
    const ledger = fundedLedger(usd("50"));
    expectEvents(run(ledger, withdraw(usd("50"))), ["cash_withdrawn"]);
    expect(accountOf(ledger).cash).toBe(0n);
  });

  test("cash held by an open buy cannot be withdrawn: failed_precondition naming amount, nothing changed", () => {
    // The buy of 10 at $10 holds $100 of the $10,000.
    const { ledger } = ledgerWithOrderIn("new");
    const before = canonical(ledger);
    const message = expectRejected(decide(ledger, withdraw(usd("9900.01"))), "failed_precondition", "amount");
    expect(message).toContain("withdrawable cash 9900");
    expect(canonical(ledger)).toBe(before);
    expectEvents(run(ledger, withdraw(usd("9900"))), ["cash_withdrawn"]);
    expect(accountOf(ledger).cash).toBe(usd("100"));
    checkInvariants(accountOf(ledger));
    // The open buy can still pay for its whole fill.
    expectEvents(run(ledger, fill("ord-1", 1, 10n, usd("10"))), ["order_filled"]);
    expect(accountOf(ledger).cash).toBe(0n);
    checkInvariants(accountOf(ledger));
  });

  test("once the order that held cash is canceled, the cash may be withdrawn", () => {
    const { ledger } = ledgerWithOrderIn("canceled");
    expectEvents(run(ledger, withdraw(usd("10000"))), ["cash_withdrawn"]);
  });
});

describe("trading state", () => {
  test("an account starts active", () => {
    expect(accountOf(fundedLedger()).tradingState).toBe("active");
  });

  test("setting a state emits trading_state_set; setting the same state again writes nothing", () => {
    const ledger = fundedLedger();
    const events = expectEvents(run(ledger, setTradingState("trading_blocked")), ["trading_state_set"]);
    expect(events[0]).toMatchObject({ kind: "trading_state_set", tradingState: "trading_blocked" });
    expect(accountOf(ledger).tradingState).toBe("trading_blocked");
    expectEvents(run(ledger, setTradingState("trading_blocked")), []);
    expectEvents(run(ledger, setTradingState("active")), ["trading_state_set"]);
    expect(accountOf(ledger).tradingState).toBe("active");
  });

  test("setting the state of an unknown account is not_found", () => {
    expectRejected(decide(new Map(), setTradingState("trading_blocked", "nobody")), "not_found", "account_id");
  });

  for (const state of ["trading_blocked", "account_blocked"] as const) {
    test(`${state}: a new order is refused failed_precondition naming the state, and nothing changes`, () => {
      const ledger = fundedLedger();
      accept(ledger, setTradingState(state));
      const before = canonical(ledger);
      const message = expectRejected(decide(ledger, submit({ orderId: "ord-9" })), "failed_precondition", "trading_state");
      expect(message).toContain(state);
      expect(canonical(ledger)).toBe(before);
    });

    test(`${state}: a replace is refused, a cancel is accepted, and fills still apply`, () => {
      const { ledger } = ledgerWithOrderIn("new");
      accept(ledger, setTradingState(state));
      expectRejected(decide(ledger, replace({ limitPrice: usd("9") })), "failed_precondition", "trading_state");
      expectEvents(run(ledger, fill("ord-1", 1, 4n, usd("10"))), ["order_filled"]);
      expect(orderOf(ledger, "ord-1").status).toBe("partially_filled");
      expectEvents(run(ledger, cancel("ord-1")), ["order_cancel_requested"]);
      checkInvariants(accountOf(ledger));
    });

    test(`${state}: a retried submit of an order accepted before the block is answered with that order`, () => {
      const { ledger } = ledgerWithOrderIn("new");
      accept(ledger, setTradingState(state));
      const decision = decide(ledger, submit({ orderId: "ord-retry", clientOrderId: "ord-1" }));
      expect(decision).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    });
  }

  test("trading_blocked still takes deposits and withdrawals", () => {
    const ledger = fundedLedger(usd("50"));
    accept(ledger, setTradingState("trading_blocked"));
    expectEvents(run(ledger, deposit(usd("10"))), ["cash_deposited"]);
    expectEvents(run(ledger, withdraw(usd("20"))), ["cash_withdrawn"]);
    expect(accountOf(ledger).cash).toBe(usd("40"));
  });

  test("account_blocked refuses deposits and withdrawals naming the state", () => {
    const ledger = fundedLedger(usd("50"));
    accept(ledger, setTradingState("account_blocked"));
    expect(expectRejected(decide(ledger, deposit(usd("10"))), "failed_precondition", "trading_state")).toContain("account_blocked");
    expect(expectRejected(decide(ledger, withdraw(usd("10"))), "failed_precondition", "trading_state")).toContain("account_blocked");
    expect(accountOf(ledger).cash).toBe(usd("50"));
  });

  test("back to active, new orders are accepted again", () => {
    const ledger = fundedLedger();
    accept(ledger, setTradingState("account_blocked"));
    accept(ledger, setTradingState("active"));
    expectEvents(run(ledger, submit({ orderId: "ord-9" })), ["order_accepted"]);
  });
});
