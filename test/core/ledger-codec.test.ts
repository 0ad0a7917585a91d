import { describe, expect, test } from "bun:test";
import { fileOrder, findOrder, newAccount, queueClosedOrder, type Account } from "../../src/core/account.ts";
import { AccountsJoin, decodeLedger, encodeAccount, encodeLedger } from "../../src/core/ledger-codec.ts";
import { closedAtMs, isOpen, ORDER_STATUSES as ALL_STATUSES, type ClosedStatus, type Order, type OrderStatus } from "../../src/core/order.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import type { Ledger } from "../../src/core/state-machine.ts";


function order(accountId: string, id: string, status: OrderStatus, index: number): Order {
  const buy = index % 2 === 0;
  return {
    id,
    // Half the orders carry their own id as client order id, as a submit that names none does.
    clientOrderId: index % 2 === 0 ? id : `client-${id}`,
    symbol: index % 3 === 0 ? "MSFT" : "AAPL",
    side: buy ? "buy" : "sell",
    type: (["market", "limit", "stop", "stop_limit"] as const)[index % 4] ?? "market",
    timeInForce: (["day", "gtc", "ioc", "fok"] as const)[index % 4] ?? "day",
    qty: 100n + BigInt(index),
    // Zero and null must stay distinct; so must a price and its absence.
    limitPrice: index % 4 === 1 ? 1_892_500n : null,
    stopPrice: index % 4 === 2 ? 0n : null,
    collarPrice: buy ? 1_950_000n : null,
    replaces: status === "pending_new" ? "ord-pending_replace" : null,
    accountId,
    listPosition: index,
    status,
    filledQty: status === "partially_filled" ? 40n : 0n,
    filledNotional: status === "partially_filled" ? 75_700_000_000_000_000_000_000n : 0n,
    holdCash: buy ? 189_250_000n : 0n,
    holdQty: buy ? 0n : 60n,
    lastExecutionSeq: index,
    pendingReplace: status === "pending_replace" ? { newOrderId: "ord-pending_new", filledQty: 0n } : null,
    replacedBy: status === "replaced" ? "ord-pending_new" : null,
    rejectReason: status === "rejected" ? "venue: symbol halted \u{1F6D1} \ud800" : "",
    createdAtMs: 1_700_000_000_000 + index,
    // Zero is a time like any other (the canceled order's closing time must not read as none).
    updatedAtMs: status === "canceled" ? 0 : 1_700_000_000_500 + index,
  };
}

/** Two accounts filed out of alphabetical order, one of them untouched since creation, the
 * other with positions and orders of every status, each Map filled out of sorted order. The
 * orders are filed as apply files them: by id, in creation order, and by client order id where
 * it is not the order id. */
function sampleLedger(): Ledger {
  const trader: Account = newAccount("acct-b", 1_700_000_000_000);
  trader.cash = 1_000_000_000_000n;
  trader.heldCash = 946_250_000n;
  trader.eventSeq = 37;
  trader.positions.set("MSFT", { symbol: "MSFT", qty: 500n, heldQty: 60n, costBasis: 20_950_000_000n });
  trader.positions.set("AAPL", { symbol: "AAPL", qty: 0n, heldQty: 0n, costBasis: 0n });
  const made = [...ALL_STATUSES].reverse().map((status, index) => order(trader.id, `ord-${status}`, status, index));
  for (const each of made) fileOrder(trader, each);
  // Queued for eviction by closing time, as apply queues them, and as a snapshot from before
  // eviction (version 4 and older) rebuilds the queue.
  const closed = made.filter((each) => !isOpen(each.status)).sort((a, b) => a.updatedAtMs - b.updatedAtMs);
  for (const each of closed) queueClosedOrder(trader, each);
  const ledger: Ledger = new Map();
  ledger.set(trader.id, trader);
  ledger.set("acct-a", newAccount("acct-a", 1_699_999_999_999));
  return ledger;
}

/** The version 3 order tuple's layout, written out: reordering it would misread stored snapshots. */
const V3_ORDER_FIELDS = [
  "id", "clientOrderId", "symbol", "side", "type", "timeInForce", "qty", "limitPrice", "stopPrice", "collarPrice", "replaces",
  "accountId", "status", "filledQty", "filledNotional", "holdCash", "holdQty", "lastExecutionSeq", "pendingReplace", "replacedBy",
  "rejectReason", "createdAtMs", "updatedAtMs", "filledAtMs", "canceledAtMs", "expiredAtMs", "replacedAtMs", "rejectedAtMs",
];
/** Version 4's tuple: version 3's without the five closing times, which follow from status and updatedAtMs. */
const V4_ORDER_FIELDS = V3_ORDER_FIELDS.slice(0, V3_ORDER_FIELDS.indexOf("filledAtMs"));
/** Version 6's tuple: version 4's (and 5's) with each order's list position after its account id. */
const V6_ORDER_FIELDS = [...V4_ORDER_FIELDS.slice(0, 12), "listPosition", ...V4_ORDER_FIELDS.slice(12)];
const CLOSED_BY_TIME: [string, OrderStatus][] = [
  ["filledAtMs", "filled"], ["canceledAtMs", "canceled"], ["expiredAtMs", "expired"], ["replacedAtMs", "replaced"], ["rejectedAtMs", "rejected"],
];

/** A version 6 snapshot rewritten as version 5 wrote it: no list positions, no eviction queue. */
function asVersion5(bytes: Uint8Array): any {
  const document = JSON.parse(new TextDecoder().decode(bytes));
  document.version = 5;
  for (const account of document.accounts) {
    for (const tuple of account.orders) tuple.splice(V6_ORDER_FIELDS.indexOf("listPosition"), 1);
    delete account.ordersCreated;
    delete account.closedOrder;
  }
  return document;
}

/** A version 5 snapshot as version 4 wrote it: no trading states (every account was active). */
function asVersion4(bytes: Uint8Array): any {
  const document = asVersion5(bytes);
  document.version = 4;
  for (const account of document.accounts) delete account.tradingState;
  return document;
}

/**
 * A version 4 snapshot rewritten as version 3 wrote it: the orders in another order than their
 * creation (a version 3 listed them as its Map held them), with the creation order in orderIds
 * and every order in orderIdsByClientOrderId, and each order's five closing times.
 */
function asVersion3(bytes: Uint8Array): any {
  const document = asVersion4(bytes);
  document.version = 3;
  const at = (field: string) => V3_ORDER_FIELDS.indexOf(field);
  for (const account of document.accounts) {
    const orders: unknown[][] = account.orders;
    for (const tuple of orders) {
      const closedAt = (status: OrderStatus) => (tuple[at("status")] === status ? tuple[at("updatedAtMs")] : null);
      tuple.push(...CLOSED_BY_TIME.map(([, status]) => closedAt(status)));
    }
    account.orders = [...orders].reverse();
    account.orderIds = orders.map((tuple) => tuple[at("id")]);
    account.orderIdsByClientOrderId = orders.map((tuple) => [tuple[at("clientOrderId")], tuple[at("id")]]);
  }
  return document;
}

/** A version 4 snapshot rewritten as the older layout with orders as objects (versions 1 and 2). */
function asObjectVersion(bytes: Uint8Array, version: 1 | 2): any {
  const document = asVersion3(bytes);
  document.version = version;
  for (const account of document.accounts) {
    account.orders = account.orders.map((tuple: unknown[]) => {
      const order = Object.fromEntries(V3_ORDER_FIELDS.map((field, index) => [field, tuple[index]]));
      const pending = order["pendingReplace"] as [string, string] | null;
      if (pending !== null) order["pendingReplace"] = { newOrderId: pending[0], filledQty: pending[1] };
      return order;
    });
  }
  return document;
}

function encodeText(document: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(document));
}

describe("ledger codec", () => {
  test("a ledger with positions and orders of every status comes back exactly", () => {
    const ledger = sampleLedger();
    expect(decodeLedger(encodeLedger(ledger))).toEqual(ledger);
  });

  test("every Map and the list of orders by age keep their insertion order", () => {
    const ledger = sampleLedger();
    const decoded = decodeLedger(encodeLedger(ledger));
    expect([...decoded.keys()]).toEqual(["acct-b", "acct-a"]);
    const original = ledger.get("acct-b");
    const copy = decoded.get("acct-b");
    if (original === undefined || copy === undefined) throw new Error("acct-b is missing");
    expect([...copy.positions.keys()]).toEqual(["MSFT", "AAPL"]);
    expect([...copy.orders.keys()]).toEqual([...original.orders.keys()]);
    expect([...oldestFirst(copy)].map((made) => made.id)).toEqual([...oldestFirst(original)].map((made) => made.id));
    expect([...oldestFirst(copy)].every((made) => findOrder(copy, made.id) === made)).toBe(true);
    expect([...copy.orderIdsByDistinctClientOrderId]).toEqual([...original.orderIdsByDistinctClientOrderId]);
    expect(copy.orderIdsByDistinctClientOrderId.size).toBe(ALL_STATUSES.length / 2);
  });

  test("version 6 writes neither the creation order nor the client order id index: both are rebuilt from the orders", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    expect(document.version).toBe(6);
    expect(Object.keys(document.accounts[0]).sort()).toEqual(["cash", "closedOrder", "createdAtMs", "eventSeq", "heldCash", "id", "orders", "ordersCreated", "positions", "tradingState"]);
    const ids = document.accounts[0].orders.map((tuple: unknown[]) => tuple[V3_ORDER_FIELDS.indexOf("id")]);
    expect(ids).toEqual([...oldestFirst(sampleLedger().get("acct-b")!)].map((made) => made.id));
  });

  test("a version 3 snapshot, its orders out of creation order and every client order id indexed, decodes to the same ledger", () => {
    const ledger = sampleLedger();
    const document = asVersion3(encodeLedger(ledger));
    expect(document.accounts[0].orders[0][0]).not.toBe(document.accounts[0].orderIds[0]);
    expect(decodeLedger(encodeText(document))).toEqual(ledger);
  });

  test("a version 3 snapshot's closing times come back as the API showed them", () => {
    const document = asVersion3(encodeLedger(sampleLedger()));
    const tuples: unknown[][] = document.accounts[0].orders;
    const canceled = tuples.find((tuple) => tuple[V3_ORDER_FIELDS.indexOf("status")] === "canceled")!;
    expect(canceled[V3_ORDER_FIELDS.indexOf("canceledAtMs")]).toBe(0);
    const decoded = decodeLedger(encodeText(document)).get("acct-b")!;
    for (const order of oldestFirst(decoded)) {
      for (const [field, status] of CLOSED_BY_TIME) {
        const tuple = tuples.find((t) => t[0] === order.id)!;
        expect(closedAtMs(order, status as ClosedStatus)).toBe(tuple[V3_ORDER_FIELDS.indexOf(field)] as number | null);
      }
    }
  });

  test("a version 3 order whose closing time is not its last update, or is set for another status, is refused", () => {
    const late = asVersion3(encodeLedger(sampleLedger()));
    const filled = late.accounts[0].orders.findIndex((tuple: unknown[]) => tuple[V3_ORDER_FIELDS.indexOf("status")] === "filled");
    late.accounts[0].orders[filled][V3_ORDER_FIELDS.indexOf("filledAtMs")] += 1;
    expect(() => decodeLedger(encodeText(late))).toThrow(`accounts[0].orders[${filled}].filledAtMs: `);
    const stray = asVersion3(encodeLedger(sampleLedger()));
    stray.accounts[0].orders[filled][V3_ORDER_FIELDS.indexOf("canceledAtMs")] = 5;
    expect(() => decodeLedger(encodeText(stray))).toThrow(`accounts[0].orders[${filled}].canceledAtMs: 5 is not the order's closing time (filled`);
  });

  test("a version 3 snapshot whose orderIds or client order id index disagree with its orders is refused", () => {
    const missing = asVersion3(encodeLedger(sampleLedger()));
    missing.accounts[0].orderIds.pop();
    expect(() => decodeLedger(encodeText(missing))).toThrow("accounts[0].orderIds: lists 9 orders, the account has 10");
    const unknown = asVersion3(encodeLedger(sampleLedger()));
    unknown.accounts[0].orderIds[2] = "ord-nowhere";
    expect(() => decodeLedger(encodeText(unknown))).toThrow("accounts[0].orderIds[2]: order ord-nowhere is not among the account's orders");
    const wrong = asVersion3(encodeLedger(sampleLedger()));
    wrong.accounts[0].orderIdsByClientOrderId[1][1] = wrong.accounts[0].orderIdsByClientOrderId[0][1];
    expect(() => decodeLedger(encodeText(wrong))).toThrow("which does not carry that client order id");
    const lacking = asVersion3(encodeLedger(sampleLedger()));
    lacking.accounts[0].orderIdsByClientOrderId = lacking.accounts[0].orderIdsByClientOrderId.filter(([key, id]: string[]) => key === id);
    expect(() => decodeLedger(encodeText(lacking))).toThrow("0 entries differ from their order id, the orders carry 5");
  });

  test("bigints come back as bigints and nulls as nulls", () => {
    const decoded = decodeLedger(encodeLedger(sampleLedger()));
    const trader = decoded.get("acct-b")!;
    const partial = findOrder(trader, "ord-partially_filled");
    expect(typeof partial?.filledNotional).toBe("bigint");
    expect(partial?.filledNotional).toBe(75_700_000_000_000_000_000_000n);
    const stop = [...oldestFirst(trader)].find((made) => made.stopPrice !== null);
    expect(stop?.stopPrice).toBe(0n);
    expect(findOrder(trader, "ord-new")?.pendingReplace).toBeNull();
    expect(findOrder(trader, "ord-pending_replace")?.pendingReplace).toEqual({
      newOrderId: "ord-pending_new",
      filledQty: 0n,
    });
  });

  test("the same ledger encodes to the same bytes, whatever order its properties were set in", () => {
    const ledger = sampleLedger();
    const reshuffled = sampleLedger();
    for (const [accountId, account] of reshuffled) {
      const refiled = { ...newAccount(account.id, account.createdAtMs), cash: account.cash, heldCash: account.heldCash, positions: account.positions, eventSeq: account.eventSeq };
      const copies = new Map<Order, Order>();
      for (const made of oldestFirst(account)) {
        const copy = Object.fromEntries(Object.entries(made).reverse()) as unknown as Order;
        copies.set(made, copy);
        fileOrder(refiled, copy);
      }
      for (const closed of account.closedOrders) queueClosedOrder(refiled, copies.get(closed)!);
      reshuffled.set(accountId, refiled);
    }
    expect(encodeLedger(reshuffled)).toEqual(encodeLedger(ledger));
  });

  test("joining account parts a slice at a time gives encodeLedger's bytes, one part per slice at a one-byte budget", () => {
    const ledger = sampleLedger();
    for (let i = 0; i < 3; i++) ledger.set(`acct-${i}`, newAccount(`acct-${i}`, 1_700_000_000_000 + i));
    const join = new AccountsJoin([...ledger.values()].map(encodeAccount));
    let steps = 1;
    while (!join.step(1)) steps += 1;
    expect(steps).toBe(ledger.size);
    expect(join.result()).toEqual(encodeLedger(ledger));
    expect(decodeLedger(join.result())).toEqual(ledger);
  });

  test("a join's result is refused before every part is in", () => {
    const join = new AccountsJoin([encodeAccount(newAccount("a", 1)), encodeAccount(newAccount("b", 2))]);
    expect(join.step(1)).toBe(false);
    expect(() => join.result()).toThrow("ledger: a join's result was taken before every part was in");
    expect(new AccountsJoin([]).step(0)).toBe(true);
  });

  test("an empty ledger round-trips", () => {
    expect(decodeLedger(encodeLedger(new Map())).size).toBe(0);
  });

  test("an unknown version is refused, naming the versions this reader knows", () => {
    const bytes = encodeText({ format: "oms.ledger", version: 7, accounts: [] });
    expect(() => decodeLedger(bytes)).toThrow("ledger snapshot: version 7 is not supported (this reader knows 1 and 2 and 3 and 4 and 5 and 6)");
  });

  test("every trading state comes back exactly (version 5 on)", () => {
    const ledger = sampleLedger();
    ledger.get("acct-b")!.tradingState = "trading_blocked";
    ledger.get("acct-a")!.tradingState = "account_blocked";
    const copy = decodeLedger(encodeLedger(ledger));
    expect(copy).toEqual(ledger);
    expect([...copy.values()].map((account) => account.tradingState)).toEqual(["trading_blocked", "account_blocked"]);
  });

  test("a version 4 snapshot, written before trading states, decodes with every account active", () => {
    const ledger = sampleLedger();
    const document = asVersion4(encodeLedger(ledger));
    expect(document.accounts[0].tradingState).toBeUndefined();
    const copy = decodeLedger(encodeText(document));
    expect(copy).toEqual(ledger);
    expect([...copy.values()].every((account) => account.tradingState === "active")).toBe(true);
  });

  test("a version 5 or 6 account with an unknown or missing trading state is refused with its path", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    document.accounts[1].tradingState = "frozen";
    expect(() => decodeLedger(encodeText(document))).toThrow('ledger snapshot: accounts[1].tradingState: "frozen" is not one of active, trading_blocked, account_blocked');
    delete document.accounts[1].tradingState;
    expect(() => decodeLedger(encodeText(document))).toThrow("ledger snapshot: accounts[1].tradingState: undefined is not one of");
  });

  test("orders are written as tuples in a fixed field order (version 6)", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    expect(document.version).toBe(6);
    const first = oldestFirst(sampleLedger().get("acct-b")!).next().value!;
    const tuple = document.accounts[0].orders[0];
    expect(tuple).toHaveLength(V6_ORDER_FIELDS.length);
    expect(tuple[V6_ORDER_FIELDS.indexOf("id")]).toBe(first.id);
    expect(tuple[V6_ORDER_FIELDS.indexOf("listPosition")]).toBe(first.listPosition);
    expect(tuple[V6_ORDER_FIELDS.indexOf("holdCash")]).toBe(String(first.holdCash));
    expect(tuple[V6_ORDER_FIELDS.indexOf("updatedAtMs")]).toBe(first.updatedAtMs);
  });

  test("a version 5 or 4 snapshot (every order, no positions) decodes to the same ledger, its eviction queue by closing time", () => {
    const ledger = sampleLedger();
    ledger.get("acct-b")!.tradingState = "trading_blocked";
    expect(decodeLedger(encodeText(asVersion5(encodeLedger(ledger))))).toEqual(ledger);
    ledger.get("acct-b")!.tradingState = "active";
    expect(decodeLedger(encodeText(asVersion4(encodeLedger(ledger))))).toEqual(ledger);
  });

  test("a version 2 snapshot, with orders as objects, still decodes to the same ledger", () => {
    const ledger = sampleLedger();
    expect(decodeLedger(encodeText(asObjectVersion(encodeLedger(ledger), 2)))).toEqual(ledger);
  });

  test("a version 1 snapshot (orders as objects, with the old submitFingerprints list) still decodes to the same ledger", () => {
    const ledger = sampleLedger();
    const document = asObjectVersion(encodeLedger(ledger), 1);
    for (const account of document.accounts) account.submitFingerprints = [["client-x", "fp"]];
    expect(decodeLedger(encodeText(document))).toEqual(ledger);
  });

  test("a version 1 order missing a nullable field is refused rather than read as null", () => {
    const document = asObjectVersion(encodeLedger(sampleLedger()), 1);
    delete document.accounts[0].orders[1].limitPrice;
    expect(() => decodeLedger(encodeText(document))).toThrow("accounts[0].orders[1].limitPrice: is missing");
  });

  test("bytes that are not JSON are refused", () => {
    expect(() => decodeLedger(new Uint8Array([0x7b, 0xff]))).toThrow("ledger snapshot: not valid UTF-8 JSON");
  });

  test("a damaged field is refused with its path", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    document.accounts[0].orders[3][V6_ORDER_FIELDS.indexOf("holdCash")] = "12.5";
    expect(() => decodeLedger(encodeText(document))).toThrow(
      "ledger snapshot: accounts[0].orders[3].holdCash: must be a decimal integer string",
    );
  });

  test("an unknown order status is refused", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    document.accounts[0].orders[0][V6_ORDER_FIELDS.indexOf("status")] = "done_for_day";
    expect(() => decodeLedger(encodeText(document))).toThrow('accounts[0].orders[0].status: "done_for_day" is not one of');
  });

  test("an order tuple of the wrong length is refused rather than read with fields shifted", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    document.accounts[0].orders[1].pop();
    expect(() => decodeLedger(encodeText(document))).toThrow("accounts[0].orders[1]: must be an array of the 24 order fields, got 23");
  });

  test("a damaged pending replace in an order tuple is refused with its path", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    const at = V6_ORDER_FIELDS.indexOf("pendingReplace");
    const order = document.accounts[0].orders.find((tuple: unknown[]) => tuple[at] !== null);
    order[at] = [order[at][0]];
    expect(() => decodeLedger(encodeText(document))).toThrow(".pendingReplace: must be [newOrderId, filledQty]");
  });

  test("an account filed twice is refused", () => {
    const document = JSON.parse(new TextDecoder().decode(encodeLedger(sampleLedger())));
    document.accounts.push(document.accounts[1]);
    expect(() => decodeLedger(encodeText(document))).toThrow("account acct-a appears twice");
  });

  test("a time that JSON cannot carry exactly is refused at encoding", () => {
    const ledger = sampleLedger();
    const account = ledger.get("acct-a");
    if (account === undefined) throw new Error("acct-a is missing");
    account.createdAtMs = Number.NaN;
    expect(() => encodeLedger(ledger)).toThrow("ledger: account acct-a createdAtMs NaN is not a safe integer");
  });

  test("an account filed under another id is refused at encoding", () => {
    const ledger: Ledger = new Map([["acct-x", newAccount("acct-y", 1)]]);
    expect(() => encodeLedger(ledger)).toThrow("ledger: account acct-y is filed under acct-x");
  });
});
