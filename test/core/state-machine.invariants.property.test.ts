// Random command sequences over a small universe (3 accounts, 2 symbols, small prices and
// quantities), including venue reports on existing orders, valid and not, withdrawals up to and
// beyond what is withdrawable, and trading states that block accounts and unblock them. After every step
// every account must keep the core's invariants, checked both by checkInvariants() and by
// independent checks here; decide() must never change the ledger; and replaying the accepted
// events on an empty ledger must rebuild the same state.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buyingPower, findOrder, type Account, type ClosedOrderRetention, type TradingState } from "../../src/core/account.ts";
import { decodeLedger, encodeLedger } from "../../src/core/ledger-codec.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import type { Command } from "../../src/core/command.ts";
import type { Event } from "../../src/core/event.ts";
import { checkInvariants } from "../../src/core/invariants.ts";
import type { Order, OrderStatus, OrderType, Side, TimeInForce } from "../../src/core/order.ts";
import { apply, decide, evict, type Ledger } from "../../src/core/state-machine.ts";
import { AT_MS, canonical, usd } from "./fixtures.ts";

const ACCOUNT_IDS = ["acct-a", "acct-b", "acct-c"] as const;
const SYMBOLS = ["AAPL", "F"] as const;
const CLIENT_ORDER_IDS = ["client-1", "client-2", "client-3"] as const;
/** Legal prices on both sides of $1 and of the $50 collar band. */
const PRICES = ["0.0051", "0.5", "0.97", "1", "9.99", "10", "10.01", "49.99", "50", "55.5"].map(usd);
/** Illegal: sub-penny at or above $1, and zero. */
const BAD_PRICES = ["1.005", "0"].map(usd);
const price = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...PRICES) }, { weight: 1, arbitrary: fc.constantFrom(...BAD_PRICES) });
const ASK_PRICES = ["0.1234", "0.97", "1", "10", "10.01", "49.99", "50", "60"].map(usd);
const FILL_PRICES = ["0.01", "0.5", "1", "9.5", "10", "12", "50", "70"].map(usd);
const DEPOSITS = [-usd("1"), ...["0", "0.0001", "50", "500", "2000"].map(usd)];
const WITHDRAWALS = [-usd("1"), ...["0", "0.0001", "50", "500", "2000"].map(usd)];
const CLOSED: ReadonlySet<OrderStatus> = new Set(["filled", "canceled", "expired", "rejected", "replaced"]);

/** One step, in terms that are resolved against the ledger when it runs (which order, which seq). */
type Step =
  | { kind: "create"; account: number }
  | { kind: "deposit"; account: number; amount: bigint }
  /** A fixed amount, or exactly the account's withdrawable cash ("all"), or a cent beyond it ("over"). */
  | { kind: "withdraw"; account: number; amount: bigint; edge: "fixed" | "all" | "over" }
  | { kind: "set_state"; account: number; state: TradingState }
  | {
      kind: "submit";
      account: number;
      symbol: number;
      side: Side;
      type: OrderType;
      timeInForce: TimeInForce;
      qty: bigint;
      limitPrice: bigint;
      stopPrice: bigint;
      askPrice: bigint;
      /** Most submits null the price fields their type does not take; the rest keep both. */
      consistentPrices: boolean;
      /** An index into CLIENT_ORDER_IDS, or negative for a fresh one. */
      client: number;
    }
  /** The submit of an earlier order again under its client order id, as a client retrying. */
  | { kind: "resubmit"; account: number; pick: number; askPrice: bigint; sameContent: boolean }
  | { kind: "cancel"; account: number; pick: number; openOnly: boolean }
  | {
      kind: "replace";
      account: number;
      pick: number;
      qty: bigint | null;
      limitPrice: bigint | null;
      stopPrice: bigint | null;
      timeInForce: TimeInForce | null;
      askPrice: bigint;
      client: number;
    }
  | { kind: "fill"; account: number; pick: number; seq: "next" | "same" | "skip"; qty: "some" | "rest" | "over" | "zero"; fraction: number; price: "collar" | "under" | "over" | "list"; listPrice: bigint }
  | { kind: "close"; account: number; pick: number; openOnly: boolean; report: "canceled" | "expired" | "rejected" }
  | { kind: "replace_answer"; account: number; pick: number; confirm: boolean; rightId: boolean };

const account = fc.nat({ max: ACCOUNT_IDS.length - 1 });
const pick = fc.nat({ max: 1000 });
/** Mostly a fresh client order id (negative), sometimes one of a few shared ones. */
const client = fc.integer({ min: -6, max: CLIENT_ORDER_IDS.length - 1 });
const timeInForce = fc.constantFrom<TimeInForce>("day", "day", "gtc", "gtc", "ioc", "fok");
const orderQty = fc.oneof({ weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 12n }) }, { weight: 1, arbitrary: fc.bigInt({ min: -1n, max: 0n }) });

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("create" as const), account }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("deposit" as const), account, amount: fc.constantFrom(...DEPOSITS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("withdraw" as const),
      account,
      amount: fc.constantFrom(...WITHDRAWALS),
      edge: fc.constantFrom("fixed" as const, "fixed" as const, "all" as const, "over" as const),
    }),
  },
  {
    // Mostly back to active, so that blocked accounts do not starve the order commands.
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("set_state" as const),
      account,
      state: fc.constantFrom<TradingState>("active", "active", "active", "trading_blocked", "account_blocked"),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("submit" as const),
      account,
      symbol: fc.nat({ max: SYMBOLS.length - 1 }),
      side: fc.constantFrom<Side>("buy", "buy", "sell"),
      type: fc.constantFrom<OrderType>("market", "limit", "limit", "stop", "stop_limit"),
      timeInForce,
      qty: orderQty,
      limitPrice: price,
      stopPrice: price,
      askPrice: fc.constantFrom(...ASK_PRICES),
      consistentPrices: fc.nat({ max: 9 }).map((n) => n > 0),
      client,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("resubmit" as const),
      account,
      pick,
      askPrice: fc.constantFrom(...ASK_PRICES),
      sameContent: fc.nat({ max: 3 }).map((n) => n > 0),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), account, pick, openOnly: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("replace" as const),
      account,
      pick,
      qty: fc.option(fc.bigInt({ min: 0n, max: 12n }), { freq: 2 }),
      limitPrice: fc.option(price, { freq: 2 }),
      stopPrice: fc.option(price, { freq: 4 }),
      timeInForce: fc.option(timeInForce, { freq: 3 }),
      askPrice: fc.constantFrom(...ASK_PRICES),
      client,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("fill" as const),
      account,
      pick,
      seq: fc.constantFrom("next" as const, "next" as const, "next" as const, "same" as const, "skip" as const),
      qty: fc.constantFrom("some" as const, "some" as const, "rest" as const, "over" as const, "zero" as const),
      fraction: fc.nat({ max: 1000 }),
      price: fc.constantFrom("collar" as const, "under" as const, "under" as const, "over" as const, "list" as const),
      listPrice: fc.constantFrom(...FILL_PRICES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      account,
      pick,
      openOnly: fc.boolean(),
      report: fc.constantFrom("canceled" as const, "expired" as const, "rejected" as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("replace_answer" as const), account, pick, confirm: fc.boolean(), rightId: fc.nat({ max: 5 }).map((n) => n > 0) }),
  },
);

/** Every run starts with the accounts funded so that orders get accepted, not only rejected. */
const openingSteps: Step[] = ACCOUNT_IDS.flatMap((_, index): Step[] => [
  { kind: "create", account: index },
  { kind: "deposit", account: index, amount: usd("2000") },
]);

function choose<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** The account's orders; `working` keeps those the venue works (new, partially filled), most commands' targets. */
function ordersOf(ledger: Ledger, accountId: string, which: "working" | "open" | "any"): Order[] {
  const account = ledger.get(accountId);
  const orders = account === undefined ? [] : [...oldestFirst(account)];
  if (which === "any") return orders;
  if (which === "open") return orders.filter((order) => !CLOSED.has(order.status));
  return orders.filter((order) => order.status === "new" || order.status === "partially_filled");
}

/** Turns a step into a command against the current ledger; `serial` makes fresh ids. */
function commandFor(ledger: Ledger, step: Step, serial: number): Command {
  const accountId = ACCOUNT_IDS[step.account] ?? "acct-missing";
  const base = { accountId, atMs: AT_MS + serial };
  const clientOrderId = (index: number, fresh: string) => CLIENT_ORDER_IDS[index] ?? fresh;
  switch (step.kind) {
    case "create":
      return { kind: "create_account", ...base };
    case "deposit":
      return { kind: "deposit", ...base, amount: step.amount };
    case "withdraw": {
      const account = ledger.get(accountId);
      const withdrawable = account === undefined ? 0n : buyingPower(account);
      const amount = step.edge === "all" ? withdrawable : step.edge === "over" ? withdrawable + usd("0.01") : step.amount;
      return { kind: "withdraw", ...base, amount };
    }
    case "set_state":
      return { kind: "set_trading_state", ...base, tradingState: step.state };
    case "submit": {
      const orderId = `ord-${serial}`;
      const takesLimit = step.type === "limit" || step.type === "stop_limit";
      const takesStop = step.type === "stop" || step.type === "stop_limit";
      return {
        kind: "submit_order",
        ...base,
        orderId,
        clientOrderId: clientOrderId(step.client, orderId),
        symbol: SYMBOLS[step.symbol] ?? "AAPL",
        side: step.side,
        type: step.type,
        timeInForce: step.timeInForce,
        qty: step.qty,
        limitPrice: !step.consistentPrices || takesLimit ? step.limitPrice : null,
        stopPrice: !step.consistentPrices || takesStop ? step.stopPrice : null,
        askPrice: step.askPrice,
      };
    }
    case "resubmit": {
      const submitted = ordersOf(ledger, accountId, "any").filter((order) => order.replaces === null);
      const order = choose(submitted, step.pick);
      if (order === undefined) return { kind: "cancel_order", ...base, orderId: "ord-missing" };
      return {
        kind: "submit_order",
        ...base,
        orderId: `ord-${serial}`,
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        side: order.side,
        type: order.type,
        timeInForce: order.timeInForce,
        qty: step.sameContent ? order.qty : order.qty + 1n,
        limitPrice: order.limitPrice,
        stopPrice: order.stopPrice,
        askPrice: step.askPrice,
      };
    }
    case "cancel": {
      const order = choose(ordersOf(ledger, accountId, step.openOnly ? "working" : "any"), step.pick);
      return { kind: "cancel_order", ...base, orderId: order?.id ?? "ord-missing" };
    }
    case "replace": {
      const order = choose(ordersOf(ledger, accountId, step.pick % 4 === 0 ? "open" : "working"), step.pick);
      const newOrderId = `ord-${serial}`;
      return {
        kind: "replace_order",
        ...base,
        orderId: order?.id ?? "ord-missing",
        newOrderId,
        clientOrderId: clientOrderId(step.client, newOrderId),
        qty: step.qty,
        limitPrice: step.limitPrice,
        stopPrice: step.stopPrice,
        timeInForce: step.timeInForce,
        askPrice: step.askPrice,
      };
    }
    case "fill":
      return fillFor(ledger, accountId, step, base.atMs);
    case "close": {
      const order = choose(ordersOf(ledger, accountId, step.openOnly ? "working" : "any"), step.pick);
      const execution =
        step.report === "expired" ? { kind: "expired" as const } : { kind: step.report, reason: "venue says so" };
      return { kind: "apply_execution", ...base, orderId: order?.id ?? "ord-missing", execution };
    }
    case "replace_answer": {
      const pending = ordersOf(ledger, accountId, "any").filter((order) => order.pendingReplace !== null);
      const order = choose(pending, step.pick) ?? choose(ordersOf(ledger, accountId, "any"), step.pick);
      const newOrderId = step.rightId ? (order?.pendingReplace?.newOrderId ?? "ord-missing") : `ord-${step.pick}`;
      const execution = step.confirm
        ? { kind: "replaced" as const, newOrderId }
        : { kind: "replace_rejected" as const, newOrderId, reason: "venue refused" };
      return { kind: "apply_execution", ...base, orderId: order?.id ?? "ord-missing", execution };
    }
  }
}

function fillFor(ledger: Ledger, accountId: string, step: Extract<Step, { kind: "fill" }>, atMs: number): Command {
  const which = step.pick % 5 === 0 ? "any" : step.pick % 5 === 1 ? "open" : "working";
  const order = choose(ordersOf(ledger, accountId, which), step.pick);
  if (order === undefined) {
    return { kind: "apply_execution", accountId, atMs, orderId: "ord-missing", execution: { kind: "fill", seq: 1, qty: 1n, price: usd("1") } };
  }
  const remaining = order.qty - order.filledQty;
  const seq = order.lastExecutionSeq + (step.seq === "next" ? 1 : step.seq === "same" ? 0 : 3);
  const qty =
    step.qty === "rest" ? remaining
    : step.qty === "over" ? remaining + 1n
    : step.qty === "zero" ? 0n
    : remaining <= 0n ? 1n
    : 1n + (BigInt(step.fraction) % remaining);
  const collar = order.collarPrice;
  const price =
    step.price === "list" || collar === null ? step.listPrice
    : step.price === "collar" ? collar
    : step.price === "over" ? collar + 1n
    : collar > 1n ? collar - 1n - (BigInt(step.fraction) % (collar - 1n))
    : collar;
  return { kind: "apply_execution", accountId, atMs, orderId: order.id, execution: { kind: "fill", seq, qty, price } };
}

/** What the accepted events alone say each account must hold: cash, shares, and each order's fills. */
interface Expected {
  cash: Map<string, bigint>;
  shares: Map<string, bigint>;
  filledQty: Map<string, bigint>;
  filledNotional: Map<string, bigint>;
  eventSeq: Map<string, number>;
  tradingState: Map<string, TradingState>;
}

function recordExpected(expected: Expected, ledger: Ledger, accountId: string, event: Event): void {
  const add = (map: Map<string, bigint>, key: string, delta: bigint) => map.set(key, (map.get(key) ?? 0n) + delta);
  if (event.kind !== "account_created") expected.eventSeq.set(accountId, (expected.eventSeq.get(accountId) ?? 0) + 1);
  if (event.kind === "cash_deposited") add(expected.cash, accountId, event.amount);
  if (event.kind === "cash_withdrawn") add(expected.cash, accountId, -event.amount);
  if (event.kind === "trading_state_set") expected.tradingState.set(accountId, event.tradingState);
  if (event.kind !== "order_filled") return;
  const account = ledger.get(accountId);
  const order = account === undefined ? undefined : findOrder(account, event.orderId);
  if (order === undefined) throw new Error(`fill event for an order the ledger does not have: ${event.orderId}`);
  const notional = event.qty * event.price;
  const sign = order.side === "buy" ? 1n : -1n;
  add(expected.cash, accountId, -sign * notional);
  add(expected.shares, `${accountId}/${order.symbol}`, sign * event.qty);
  add(expected.filledQty, `${accountId}/${order.id}`, event.qty);
  add(expected.filledNotional, `${accountId}/${order.id}`, notional);
}

/** The invariants, checked here without the implementation's help. */
function expectAccountSound(account: Account, expected: Expected): void {
  expect(account.cash).toBeGreaterThanOrEqual(0n);
  expect(account.heldCash).toBeGreaterThanOrEqual(0n);
  expect(account.heldCash).toBeLessThanOrEqual(account.cash);
  expect(account.cash).toBe(expected.cash.get(account.id) ?? 0n);
  expect(account.eventSeq).toBe(expected.eventSeq.get(account.id) ?? 0);
  expect(account.tradingState).toBe(expected.tradingState.get(account.id) ?? "active");

  let heldCash = 0n;
  const heldQty = new Map<string, bigint>();
  for (const order of oldestFirst(account)) {
    const where = `order ${order.id} (${order.side} ${order.type}, ${order.status})`;
    expect({ where, filledQty: order.filledQty >= 0n && order.filledQty <= order.qty }).toEqual({ where, filledQty: true });
    expect({ where, filledQty: order.filledQty }).toEqual({ where, filledQty: expected.filledQty.get(`${account.id}/${order.id}`) ?? 0n });
    expect({ where, notional: order.filledNotional }).toEqual({ where, notional: expected.filledNotional.get(`${account.id}/${order.id}`) ?? 0n });
    expect({ where, holdCash: order.holdCash >= 0n, holdQty: order.holdQty >= 0n }).toEqual({ where, holdCash: true, holdQty: true });
    if (order.side === "buy") expect({ where, holdQty: order.holdQty }).toEqual({ where, holdQty: 0n });
    else expect({ where, holdCash: order.holdCash, collar: order.collarPrice }).toEqual({ where, holdCash: 0n, collar: null });
    if (order.status === "filled") expect({ where, filledQty: order.filledQty }).toEqual({ where, filledQty: order.qty });
    if (order.status === "new" || order.status === "pending_new") expect({ where, filledQty: order.filledQty }).toEqual({ where, filledQty: 0n });
    if (order.status === "partially_filled") {
      expect({ where, partial: order.filledQty > 0n && order.filledQty < order.qty }).toEqual({ where, partial: true });
    }
    if (CLOSED.has(order.status)) {
      expect({ where, holdCash: order.holdCash, holdQty: order.holdQty }).toEqual({ where, holdCash: 0n, holdQty: 0n });
      continue;
    }
    if (order.status !== "pending_new") {
      // A working order holds exactly what its remaining qty could cost (buy) or deliver (sell).
      const remaining = order.qty - order.filledQty;
      const wanted = order.side === "buy" ? { holdCash: remaining * (order.collarPrice ?? -1n), holdQty: 0n } : { holdCash: 0n, holdQty: remaining };
      expect({ where, holdCash: order.holdCash, holdQty: order.holdQty }).toEqual({ where, ...wanted });
    }
    heldCash += order.holdCash;
    heldQty.set(order.symbol, (heldQty.get(order.symbol) ?? 0n) + order.holdQty);
  }
  expect(account.heldCash).toBe(heldCash);

  for (const symbol of new Set([...SYMBOLS, ...account.positions.keys()])) {
    const position = account.positions.get(symbol);
    const qty = position?.qty ?? 0n;
    const held = position?.heldQty ?? 0n;
    const where = `position ${account.id}/${symbol}`;
    expect({ where, qty }).toEqual({ where, qty: expected.shares.get(`${account.id}/${symbol}`) ?? 0n });
    expect({ where, sound: held >= 0n && held <= qty }).toEqual({ where, sound: true });
    expect({ where, held }).toEqual({ where, held: heldQty.get(symbol) ?? 0n });
    if (position !== undefined) {
      expect({ where, costBasis: position.costBasis >= 0n }).toEqual({ where, costBasis: true });
      if (position.qty === 0n) expect({ where, costBasis: position.costBasis }).toEqual({ where, costBasis: 0n });
    }
  }
}

interface RunResult {
  ledger: Ledger;
  log: { accountId: string; event: Event }[];
  /** The accepted commands' events, a record per command, as the node logs them. */
  records: { accountId: string; events: Event[] }[];
  accepted: number;
  /** How each kind of command was decided: "fill → order_filled", "cancel_order → failed_precondition". */
  outcomes: Set<string>;
}

/** With a retention, closed orders are evicted after each record, as the node and replay do. */
function runSteps(steps: Step[], retention: ClosedOrderRetention | null = null): RunResult {
  const ledger: Ledger = new Map();
  const log: RunResult["log"] = [];
  const records: RunResult["records"] = [];
  const expected: Expected = {
    cash: new Map(),
    shares: new Map(),
    filledQty: new Map(),
    filledNotional: new Map(),
    eventSeq: new Map(),
    tradingState: new Map(),
  };
  const closedOrders = new Map<string, string>();
  let accepted = 0;
  const outcomes = new Set<string>();
  [...openingSteps, ...steps].forEach((step, serial) => {
    const command = commandFor(ledger, step, serial);
    try {
      runStep(command);
    } catch (error: unknown) {
      // fast-check shows the shrunk steps; this says which command broke what.
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`step ${serial} ${canonical(command)}\n${detail}`);
    }
  });
  return { ledger, log, records, accepted, outcomes };

  function runStep(command: Command): void {
    const before = canonical(ledger);
    const decision = decide(ledger, command);
    const asked = command.kind === "apply_execution" ? command.execution.kind : command.kind;
    const answer =
      !decision.ok ? decision.rejection.code + (decision.rejection.message.startsWith("trading_state:") ? " (trading_state)" : "")
      : "duplicateOf" in decision ? "duplicate"
      : decision.events.map((event) => event.kind).join("+") || "no events";
    outcomes.add(`${asked} → ${answer}`);
    // decide() is pure: whatever it answers, the ledger is as it was (so a rejection changed nothing).
    expect(canonical(ledger)).toBe(before);
    if (!decision.ok) {
      expect(["invalid_argument", "not_found", "already_exists", "failed_precondition"]).toContain(decision.rejection.code);
    } else {
      if ("duplicateOf" in decision) expect(command.kind).toBe("submit_order");
      if (decision.events.length > 0) accepted += 1;
      const state = ledger.get(command.accountId)?.tradingState;
      for (const event of decision.events) {
        // What each state allows, checked against the state before the command.
        const kind = event.kind;
        if (kind === "order_accepted" || kind === "order_replace_requested") expect({ kind, state }).toEqual({ kind, state: "active" });
        if (kind === "cash_deposited" || kind === "cash_withdrawn") expect({ kind, blocked: state === "account_blocked" }).toEqual({ kind, blocked: false });
        recordExpected(expected, ledger, command.accountId, event);
        apply(ledger, command.accountId, event);
        log.push({ accountId: command.accountId, event });
      }
      if (decision.events.length > 0) records.push({ accountId: command.accountId, events: decision.events });
      if (retention !== null) evict(ledger, command.accountId, decision.events, retention);
    }
    for (const account of ledger.values()) {
      checkInvariants(account);
      expectAccountSound(account, expected);
      for (const order of oldestFirst(account)) {
        const key = `${account.id}/${order.id}`;
        const earlier = closedOrders.get(key);
        // A closed order is final: no later event changes its status, fills, holds or times
        // (only the bookkeeping of a replace that was pending when it closed may be cleared).
        const final = canonical({ ...order, pendingReplace: "ignored" });
        if (earlier !== undefined) expect(final).toBe(earlier);
        else if (CLOSED.has(order.status)) closedOrders.set(key, final);
      }
    }
  }
}

function replay(log: RunResult["log"]): Ledger {
  const ledger: Ledger = new Map();
  for (const { accountId, event } of log) apply(ledger, accountId, event);
  return ledger;
}

/** Replays records, evicting after each as the node does. */
function replayRecords(records: RunResult["records"], retention: ClosedOrderRetention): Ledger {
  const ledger: Ledger = new Map();
  for (const { accountId, events } of records) {
    for (const event of events) apply(ledger, accountId, event);
    evict(ledger, accountId, events, retention);
  }
  return ledger;
}

const RUNS = 400;
const steps = fc.array(stepArbitrary, { minLength: 10, maxLength: 120, size: "max" });

describe("core invariants under random command sequences", () => {
  test("every account keeps its invariants after every step, and decide never changes the ledger", () => {
    let acceptedTotal = 0;
    fc.assert(
      fc.property(steps, (generated) => {
        acceptedTotal += runSteps(generated).accepted;
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    // The property is only meaningful if the generated commands mostly reach apply().
    expect(acceptedTotal).toBeGreaterThan(RUNS * 10);
    // 400 sequences take ~3.5 s alone; a loaded machine must not fail it on bun's 5 s default.
  }, 60_000);

  test("replaying the accepted events on an empty ledger rebuilds the same ledger", () => {
    fc.assert(
      fc.property(steps, (generated) => {
        const { ledger, log } = runSteps(generated);
        expect(canonical(replay(log))).toBe(canonical(ledger));
      }),
      { numRuns: 100, includeErrorInReport: true },
    );
  });

  test("with closed orders evicted after each record, the invariants still hold, and replay evicting alike rebuilds the same ledger", () => {
    // The tightest retentions: every closed order leaves at once, or one stays, or by age only.
    for (const retention of [{ keptMax: 0, keptMs: 0 }, { keptMax: 1, keptMs: Number.MAX_SAFE_INTEGER }, { keptMax: 1_000, keptMs: 0 }]) {
      fc.assert(
        fc.property(steps, (generated) => {
          const { ledger, records } = runSteps(generated, retention);
          expect(encodeLedger(replayRecords(records, retention))).toEqual(encodeLedger(ledger));
          expect(encodeLedger(decodeLedger(encodeLedger(ledger)))).toEqual(encodeLedger(ledger));
        }),
        { numRuns: 100, includeErrorInReport: true },
      );
    }
  }, 60_000);

  test("the random sequences reach every order status and every kind of decision, so the checks above see them all", () => {
    const seen = new Set<OrderStatus>();
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(steps, (generated) => {
        const result = runSteps(generated);
        for (const outcome of result.outcomes) outcomes.add(outcome);
        for (const account of result.ledger.values()) {
          for (const order of oldestFirst(account)) seen.add(order.status);
        }
      }),
      { numRuns: 100, seed: 42, includeErrorInReport: true },
    );
    const every: OrderStatus[] = [
      "canceled",
      "expired",
      "filled",
      "new",
      "partially_filled",
      "pending_cancel",
      "pending_new",
      "pending_replace",
      "rejected",
      "replaced",
    ];
    expect([...seen].sort()).toEqual(every);
    const required = [
      "create_account → account_created",
      "create_account → already_exists",
      "deposit → cash_deposited",
      "deposit → invalid_argument",
      "deposit → failed_precondition (trading_state)",
      "withdraw → cash_withdrawn",
      "withdraw → invalid_argument",
      "withdraw → failed_precondition",
      "withdraw → failed_precondition (trading_state)",
      "set_trading_state → trading_state_set",
      "set_trading_state → no events",
      "submit_order → failed_precondition (trading_state)",
      "replace_order → failed_precondition (trading_state)",
      "submit_order → order_accepted",
      "submit_order → duplicate",
      "submit_order → already_exists",
      "submit_order → invalid_argument",
      "submit_order → failed_precondition",
      "cancel_order → order_cancel_requested",
      "cancel_order → no events",
      "cancel_order → failed_precondition",
      "replace_order → order_replace_requested",
      "replace_order → invalid_argument",
      "replace_order → already_exists",
      "replace_order → failed_precondition",
      "fill → order_filled",
      "fill → no events",
      "fill → failed_precondition",
      "canceled → order_canceled",
      "canceled → no events",
      "expired → order_expired",
      "rejected → order_rejected",
      "replaced → order_replaced",
      "replaced → failed_precondition",
      "replace_rejected → order_replace_rejected",
    ];
    expect(required.filter((outcome) => !outcomes.has(outcome))).toEqual([]);
  });
});
