// Closed orders leave the hot ledger by a rule that depends only on the log (a count per
// account and the commands' own times), so replay and a snapshot rebuild the same hot ledger;
// open orders never leave; the client order id window is the hot ledger's.
import { describe, expect, test } from "bun:test";
import { EVICTIONS_PER_COMMAND_MAX, findOrder, hotClosedOrderCount, orderByClientOrderId, type ClosedOrderRetention } from "../../src/core/account.ts";
import type { Command } from "../../src/core/command.ts";
import { checkInvariants } from "../../src/core/invariants.ts";
import { decodeLedger, encodeLedger } from "../../src/core/ledger-codec.ts";
import type { Order } from "../../src/core/order.ts";
import { hotOrderCount, oldestFirst } from "../../src/core/order-list.ts";
import { apply, decide, evict, type Ledger } from "../../src/core/state-machine.ts";
import { accountOf, AT_MS, execution, fundedLedger, submit, usd } from "./fixtures.ts";

/** Decides, applies and evicts, as the commit pipeline and replay both do after each record. */
function commit(ledger: Ledger, command: Command, retention: ClosedOrderRetention, archive: Order[]): void {
  const decision = decide(ledger, command);
  if (!decision.ok) throw new Error(`setup refused: ${decision.rejection.message}`);
  for (const event of decision.events) apply(ledger, command.accountId, event);
  archive.push(...evict(ledger, command.accountId, decision.events, retention));
}

/** Submits `count` limit buys, closing each one after the other with the venue's cancel, a second apart. */
function trade(ledger: Ledger, count: number, retention: ClosedOrderRetention, archive: Order[], firstIndex = 0, openEvery = 0): void {
  for (let index = firstIndex; index < firstIndex + count; index += 1) {
    const atMs = AT_MS + index * 1000;
    const orderId = `ord-${index}`;
    commit(ledger, { ...submit({ orderId, clientOrderId: `client-${index}`, qty: 1n, limitPrice: usd("1") }), atMs }, retention, archive);
    // Every openEvery-th order stays open for good.
    if (openEvery > 0 && index % openEvery === 0) continue;
    commit(ledger, { ...execution(orderId, { kind: "canceled", reason: "canceled by venue" }), atMs: atMs + 500 }, retention, archive);
  }
}

describe("closed order eviction", () => {
  test("an account keeps at most keptMax closed orders in memory, however many close", () => {
    const ledger = fundedLedger(usd("1000000"));
    const archive: Order[] = [];
    const retention = { keptMax: 50, keptMs: Number.MAX_SAFE_INTEGER };
    trade(ledger, 5000, retention, archive);
    const account = accountOf(ledger);
    expect(hotClosedOrderCount(account)).toBe(50);
    expect(account.orders.size).toBe(50);
    expect(hotOrderCount(account)).toBe(50);
    expect(account.orderIdsByDistinctClientOrderId.size).toBe(50);
    // The list's holes and the eviction queue's spent slots are bounded too.
    expect(account.hotOrders.length).toBeLessThanOrEqual(2 * 50 + 64);
    expect(account.closedOrders.length).toBeLessThanOrEqual(2 * 50 + 64);
    // The oldest closed left first, each once, and the newest 50 stayed.
    expect(archive.map((order) => order.id)).toEqual(Array.from({ length: 4950 }, (_, index) => `ord-${index}`));
    expect([...oldestFirst(account)].map((order) => order.id)).toEqual(Array.from({ length: 50 }, (_, index) => `ord-${4950 + index}`));
    expect(account.ordersCreated).toBe(5000);
    checkInvariants(account);
  });

  test("an open order never leaves, however old and however many close after it", () => {
    const ledger = fundedLedger(usd("1000000"));
    const archive: Order[] = [];
    trade(ledger, 2000, { keptMax: 0, keptMs: 0 }, archive, 0, 100);
    const account = accountOf(ledger);
    expect(account.orders.size).toBe(20);
    expect([...oldestFirst(account)].every((order) => order.status === "new")).toBe(true);
    expect(archive.every((order) => order.status === "canceled")).toBe(true);
    expect(archive).toHaveLength(1980);
    checkInvariants(account);
  });

  test("by age: a closed order leaves once a later command is keptMs past its closing, by the commands' times", () => {
    const ledger = fundedLedger(usd("1000000"));
    const archive: Order[] = [];
    const retention = { keptMax: 1_000_000, keptMs: 10_000 };
    trade(ledger, 100, retention, archive);
    const account = accountOf(ledger);
    // The last command was at AT_MS + 99_500: orders closed at or after AT_MS + 89_500 stay.
    expect([...oldestFirst(account)].map((order) => order.id)).toEqual(Array.from({ length: 11 }, (_, index) => `ord-${89 + index}`));
    for (const order of oldestFirst(account)) expect(order.updatedAtMs).toBeGreaterThanOrEqual(AT_MS + 99_500 - 10_000);
  });

  test("at most EVICTIONS_PER_COMMAND_MAX leave per command, and the backlog drains in later commands", () => {
    const ledger = fundedLedger(usd("1000000"));
    const archive: Order[] = [];
    trade(ledger, 200, { keptMax: 1_000_000, keptMs: Number.MAX_SAFE_INTEGER }, archive);
    expect(archive).toHaveLength(0);
    // Retention lowered at a restart: the next command evicts only the bound's worth.
    trade(ledger, 1, { keptMax: 10, keptMs: Number.MAX_SAFE_INTEGER }, archive, 200);
    expect(archive).toHaveLength(2 * EVICTIONS_PER_COMMAND_MAX);
    trade(ledger, 20, { keptMax: 10, keptMs: Number.MAX_SAFE_INTEGER }, archive, 201);
    expect(hotClosedOrderCount(accountOf(ledger))).toBe(10);
    checkInvariants(accountOf(ledger));
  });

  test("a resubmit inside the window returns the original; outside it, the client order id makes a new order", () => {
    const ledger = fundedLedger(usd("1000000"));
    const archive: Order[] = [];
    const retention = { keptMax: 5, keptMs: Number.MAX_SAFE_INTEGER };
    trade(ledger, 6, retention, archive);
    const account = accountOf(ledger);
    // ord-0 has left, ord-1 is still in the window.
    expect(orderByClientOrderId(account, "client-0")).toBeUndefined();
    const again = (index: number) => decide(ledger, { ...submit({ orderId: `retry-${index}`, clientOrderId: `client-${index}`, qty: 1n, limitPrice: usd("1") }), atMs: AT_MS + 10_000 });
    expect(again(1)).toEqual({ ok: true, events: [], duplicateOf: "ord-1" });
    const outside = again(0);
    expect(outside.ok && outside.events.map((event) => event.kind)).toEqual(["order_accepted"]);
    commit(ledger, { ...submit({ orderId: "retry-0", clientOrderId: "client-0", qty: 1n, limitPrice: usd("1") }), atMs: AT_MS + 10_000 }, retention, archive);
    expect(orderByClientOrderId(account, "client-0")?.id).toBe("retry-0");
    expect(findOrder(account, "retry-0")?.listPosition).toBe(6);
  });

  test("a snapshot taken mid-run, then the rest replayed, rebuilds the very same hot ledger, and is bounded", () => {
    const retention = { keptMax: 20, keptMs: 60_000 };
    const live = fundedLedger(usd("1000000"));
    const sizes: number[] = [];
    let restored: Ledger | null = null;
    const liveArchive: Order[] = [];
    const replayArchive: Order[] = [];
    for (let round = 0; round < 10; round += 1) {
      trade(live, 300, retention, liveArchive, round * 300, 7);
      const bytes = encodeLedger(live);
      sizes.push(bytes.length);
      if (round === 4) restored = decodeLedger(bytes);
      else if (restored !== null) trade(restored, 300, retention, replayArchive, round * 300, 7);
    }
    expect(restored).not.toBeNull();
    expect(encodeLedger(restored!)).toEqual(encodeLedger(live));
    expect(replayArchive.map((order) => order.id)).toEqual(liveArchive.slice(liveArchive.length - replayArchive.length).map((order) => order.id));
    // Open orders grow by 43 a round (every 7th stays open); closed ones stay at 20, so the
    // snapshot grows only by the open orders' bytes, not the 257 closed per round.
    const growth = sizes.map((size, index) => (index === 0 ? 0 : size - (sizes[index - 1] as number)));
    const openOrderBytes = encodeLedger(live).length / accountOf(live).orders.size;
    for (const step of growth.slice(1)) expect(step).toBeLessThan(50 * openOrderBytes);
    checkInvariants(accountOf(live));
  });
});
