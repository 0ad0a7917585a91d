// The admin's Withdraw and SetTradingState through a node's commit pipeline: refusals name the
// field and write nothing, accepted ones are logged, and a restart (from the log alone, or from
// a snapshot and the log) brings back the same cash and trading state.
import { describe, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { NodeResultSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce, TradingState } from "../../src/gen/oms/v1/trading_pb.ts";
import { startNodeHarness, type NodeHarness } from "./node-harness.ts";

/** A limit buy of 10 AAPL at $10: it holds $100 of buying power until it fills or closes. */
const restingBuy = (accountId: string) => ({
  case: "submitOrder" as const,
  value: { accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "10", limitPrice: "10" },
});

function value<C extends NonNullable<NodeResult["result"]["case"]>>(result: NodeResult, kase: C) {
  if (result.result.case !== kase) throw new Error(`expected ${kase}, got ${toJsonString(NodeResultSchema, result)}`);
  return result.result.value as Extract<NodeResult["result"], { case: C }>["value"];
}

function errorOf(result: NodeResult): { code: number; message: string } {
  if (result.result.case !== "error") throw new Error(`expected an error, got ${toJsonString(NodeResultSchema, result)}`);
  return result.result.value;
}

const withdraw = (accountId: string, amount: string) => ({ case: "withdraw" as const, value: { accountId, amount } });
const setState = (accountId: string, tradingState: TradingState) => ({ case: "setTradingState" as const, value: { accountId, tradingState } });

async function fundedAccount(h: NodeHarness, accountId: string, amount: string): Promise<void> {
  value(await h.run({ case: "createAccount", value: { accountId } }), "createAccount");
  value(await h.run({ case: "deposit", value: { accountId, amount } }), "deposit");
}

async function accountOf(h: NodeHarness, accountId: string) {
  return value(await h.run({ case: "getAccount", value: { accountId } }), "getAccount").account!;
}

async function logEnds(h: NodeHarness): Promise<bigint[]> {
  return Promise.all([0, 1, 2, 3].map((shard) => h.log.endOffset(shard)));
}

describe("Withdraw on a node", () => {
  test("takes at most the cash no open order holds; beyond it is FAILED_PRECONDITION naming amount and writes nothing", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "wendy", "1000");
    value(await h.run(restingBuy("wendy")), "submitOrder");
    const before = await logEnds(h);
    const refused = errorOf(await h.run(withdraw("wendy", "900.01")));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.message).toStartWith("amount:");
    expect(refused.message).toContain("withdrawable cash 900");
    expect(await logEnds(h)).toEqual(before);
    const account = value(await h.run(withdraw("wendy", "900")), "withdraw").account!;
    expect([account.cash, account.reserved, account.buyingPower]).toEqual(["100", "100", "0"]);
    expect(await logEnds(h)).not.toEqual(before);
    await h.stop();
  });

  test("bad amounts and account ids are INVALID_ARGUMENT naming the field; an unknown account is NOT_FOUND", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "xavi", "10");
    const before = await logEnds(h);
    for (const amount of ["", "0", "-1", "1.001", "1e3", "abc", "1000000000.01"]) {
      const error = errorOf(await h.run(withdraw("xavi", amount)));
      expect({ amount, code: error.code, field: error.message.split(":")[0] }).toEqual({ amount, code: Code.InvalidArgument, field: "amount" });
    }
    expect(errorOf(await h.run(withdraw("", "1"))).message).toStartWith("account_id:");
    expect(errorOf(await h.run(withdraw("ghost", "1"))).code).toBe(Code.NotFound);
    expect(await logEnds(h)).toEqual(before);
    expect((await accountOf(h, "xavi")).cash).toBe("10");
    await h.stop();
  });
});

describe("SetTradingState on a node", () => {
  test("an account is ACTIVE until set; a blocked one refuses new orders naming the state, still cancels, and is shown in GetAccount", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "yara", "1000");
    expect((await accountOf(h, "yara")).tradingState).toBe(TradingState.ACTIVE);
    const resting = value(await h.run(restingBuy("yara")), "submitOrder").order!;
    const blocked = value(await h.run(setState("yara", TradingState.TRADING_BLOCKED)), "setTradingState").account!;
    expect(blocked.tradingState).toBe(TradingState.TRADING_BLOCKED);
    expect((await accountOf(h, "yara")).tradingState).toBe(TradingState.TRADING_BLOCKED);
    // Setting the state it is in again is answered and writes nothing.
    const ends = await logEnds(h);
    expect(value(await h.run(setState("yara", TradingState.TRADING_BLOCKED)), "setTradingState").account!.tradingState).toBe(TradingState.TRADING_BLOCKED);
    expect(await logEnds(h)).toEqual(ends);
    const refused = errorOf(await h.run(restingBuy("yara")));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.message).toStartWith("trading_state:");
    expect(refused.message).toContain("trading_blocked");
    const replace = errorOf(await h.run({ case: "replaceOrder", value: { accountId: "yara", orderId: resting.id, limitPrice: "9" } }));
    expect([replace.code, replace.message.split(":")[0]]).toEqual([Code.FailedPrecondition, "trading_state"]);
    const canceled = value(await h.run({ case: "cancelOrder", value: { accountId: "yara", orderId: resting.id } }), "cancelOrder").order!;
    expect(canceled.status).toBe(OrderStatus.PENDING_CANCEL);
    // Only the one order accepted before the block reached the venue.
    expect(h.venue.submits.map((order) => order.orderId)).toEqual([resting.id]);
    await h.stop();
  });

  test("ACCOUNT_BLOCKED also refuses deposits and withdrawals; ACTIVE again allows everything", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "zoe", "1000");
    value(await h.run(setState("zoe", TradingState.ACCOUNT_BLOCKED)), "setTradingState");
    for (const command of [withdraw("zoe", "1"), { case: "deposit" as const, value: { accountId: "zoe", amount: "1" } }]) {
      const error = errorOf(await h.run(command));
      expect([error.code, error.message.split(":")[0]]).toEqual([Code.FailedPrecondition, "trading_state"]);
      expect(error.message).toContain("account_blocked");
    }
    value(await h.run(setState("zoe", TradingState.ACTIVE)), "setTradingState");
    value(await h.run(withdraw("zoe", "1")), "withdraw");
    value(await h.run(restingBuy("zoe")), "submitOrder");
    await h.stop();
  });

  test("an unspecified or unknown state is INVALID_ARGUMENT naming trading_state and writes nothing", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "ursula", "1");
    const before = await logEnds(h);
    for (const state of [TradingState.UNSPECIFIED, 9 as TradingState]) {
      const error = errorOf(await h.run(setState("ursula", state)));
      expect([error.code, error.message.split(":")[0]]).toEqual([Code.InvalidArgument, "trading_state"]);
    }
    expect(await logEnds(h)).toEqual(before);
    await h.stop();
  });
});

test("a restart brings back the cash withdrawn and the trading state, from the log alone and from a snapshot and the log", async () => {
  for (const snapshotEvery of [1_000_000, 2]) {
    const h = await startNodeHarness(undefined, snapshotEvery);
    await fundedAccount(h, "vera", "500");
    value(await h.run(withdraw("vera", "123.45")), "withdraw");
    value(await h.run(setState("vera", TradingState.ACCOUNT_BLOCKED)), "setTradingState");
    await fundedAccount(h, "walt", "50");
    value(await h.run(setState("walt", TradingState.TRADING_BLOCKED)), "setTradingState");
    const before = [await accountOf(h, "vera"), await accountOf(h, "walt")];
    expect(before.map((account) => [account.cash, account.tradingState])).toEqual([
      ["376.55", TradingState.ACCOUNT_BLOCKED],
      ["50", TradingState.TRADING_BLOCKED],
    ]);
    await h.stop();
    const again = await startNodeHarness(h.dir, snapshotEvery);
    expect([await accountOf(again, "vera"), await accountOf(again, "walt")]).toEqual(before);
    await again.stop();
  }
});
