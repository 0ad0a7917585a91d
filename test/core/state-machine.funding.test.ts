// create_account and deposit: an account exists once, and cash grows only by positive deposits.
import { describe, expect, test } from "bun:test";
import { buyingPower } from "../../src/core/account.ts";
import { hotOrderCount } from "../../src/core/order-list.ts";
import type { Ledger } from "../../src/core/state-machine.ts";
import { decide } from "../../src/core/state-machine.ts";
import { accountOf, canonical, createAccount, deposit, expectEvents, expectRejected, fundedLedger, run, usd } from "./fixtures.ts";

describe("create_account", () => {
  test("a new account id is created empty: no cash, no holds, no orders", () => {
    const ledger: Ledger = new Map();
    const events = expectEvents(run(ledger, createAccount("acct-9")), ["account_created"]);
    expect(events[0]).toMatchObject({ kind: "account_created" });
    const account = accountOf(ledger, "acct-9");
    expect(account.id).toBe("acct-9");
    expect(account.cash).toBe(0n);
    expect(account.heldCash).toBe(0n);
    expect(hotOrderCount(account)).toBe(0);
    expect(account.positions.size).toBe(0);
  });

  test("an existing account id is rejected as already_exists and the account is untouched", () => {
    const ledger = fundedLedger(usd("100"));
    const before = canonical(ledger);
    expectRejected(decide(ledger, createAccount()), "already_exists");
    expect(canonical(ledger)).toBe(before);
    expect(accountOf(ledger).cash).toBe(usd("100"));
  });
});

describe("deposit", () => {
  test("a deposit to an unknown account is not_found", () => {
    expectRejected(decide(new Map(), deposit(usd("10"), "nobody")), "not_found");
  });

  test("a zero deposit is invalid_argument naming amount", () => {
    expectRejected(decide(fundedLedger(0n), deposit(0n)), "invalid_argument", "amount");
  });

  test("a negative deposit is invalid_argument naming amount and leaves cash unchanged", () => {
    const ledger = fundedLedger(usd("50"));
    expectRejected(decide(ledger, deposit(-1n)), "invalid_argument", "amount");
    expect(accountOf(ledger).cash).toBe(usd("50"));
  });

  test("a positive deposit emits cash_deposited and grows cash and buying power by exactly the amount", () => {
    const ledger = fundedLedger(usd("50"));
    const events = expectEvents(run(ledger, deposit(usd("0.0001"))), ["cash_deposited"]);
    expect(events[0]).toMatchObject({ kind: "cash_deposited", amount: usd("0.0001") });
    expect(accountOf(ledger).cash).toBe(usd("50.0001"));
    expect(buyingPower(accountOf(ledger))).toBe(usd("50.0001"));
  });

  test("successive deposits add up", () => {
    const ledger = fundedLedger(0n);
    run(ledger, deposit(usd("12.34")));
    run(ledger, deposit(usd("0.66")));
    expect(accountOf(ledger).cash).toBe(usd("13"));
  });
});
