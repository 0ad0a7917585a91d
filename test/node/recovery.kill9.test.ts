// A node process killed with SIGKILL under load comes back with every acknowledged order
// exactly as it was acknowledged, and every order whose reply the kill cut off either whole or
// absent: a reply waits for the log, and recovery (a snapshot, then the log after it) rebuilds
// the same ledger. A second kill right after the restart proves a log that already went
// through a recovery and snapshots recovers as well.
import { afterAll, expect, test } from "bun:test";
import { equals, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardOf } from "../../src/config/shard-of.ts";
import { CASH_DECIMALS, CASH_SCALE, parseDecimal } from "../../src/core/money.ts";
import { NodeService, type NodeCommandSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/gen/oms/v1/trading_pb.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { freePort } from "../e2e/dev-process.ts";
import { killNodeProcess, startNodeProcess, withNodeOutput, writeNodeConfig, type NodeProcess } from "./node-process.ts";

const NODE_ID = "node-a";
const SHARD_COUNT = 4;
const ACCOUNTS_PER_SHARD = 2;
const DEPOSIT_DOLLARS = 1_000_000n;
/** Small, so that every shard takes snapshots before the first kill and recovery starts from one. */
const SNAPSHOT_EVERY_RECORDS = 100;
/** Execute calls kept in flight at once: some 600 orders are in the air when the kill lands. */
const CALLS_IN_FLIGHT = 300;
/** Every BATCH_EVERY-th call carries BATCH_ORDERS orders, as a balancer's batches do. */
const BATCH_EVERY = 4;
const BATCH_ORDERS = 5;
const QTY_MAX = 100;
/** Far below AAPL's ~$190: the venue never fills it, so nothing but the orders changes state. */
const LIMIT_PRICE = "1";
const ACKS_BEFORE_FIRST_KILL = 600;
const ACKS_BEFORE_SECOND_KILL = 150;
/** Bounds a run whose acknowledgements never come (every order refused): it then ends and fails. */
const ORDERS_SUBMITTED_MAX = 20_000;
const READ_BATCH_COMMANDS = 256;
const LIST_PAGE_ORDERS = 100;
/** Reproduces the quantities; the interleaving of calls is up to the scheduler. */
const QTY_SEED = 0x9e3779b9;

type Command = MessageInitShape<typeof NodeCommandSchema>;
type NodeClient = Client<typeof NodeService>;

interface OrderRequest {
  accountId: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  qty: string;
  limitPrice: string;
}

/** What the test knows of one submitted order: the ack, what a recovery showed, or nothing yet. */
interface Submitted {
  request: OrderRequest;
  acked: boolean;
  known: Order | "absent" | "unknown";
}

const dataDir = mkdtempSync(join(tmpdir(), "oms-recovery-kill9-"));
let live: NodeProcess | null = null;

afterAll(async () => {
  if (live !== null) await killNodeProcess(live);
  rmSync(dataDir, { recursive: true, force: true });
});

function xorshiftQty(seed: number): () => bigint {
  let x = seed >>> 0 || 1;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return BigInt((x % QTY_MAX) + 1);
  };
}

/** ACCOUNTS_PER_SHARD account ids on each shard, so that every shard's log and snapshots are exercised. */
function accountIds(): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < SHARD_COUNT * ACCOUNTS_PER_SHARD; i += 1) {
    const id = `trader-${i}`;
    if (ids.filter((other) => shardOf(other, SHARD_COUNT) === shardOf(id, SHARD_COUNT)).length < ACCOUNTS_PER_SHARD) ids.push(id);
  }
  return ids;
}

function decimal(text: string, decimals: number): bigint {
  const parsed = parseDecimal(text, decimals, decimals);
  if (!parsed.ok) throw new Error(`"${text}" is not a decimal: ${parsed.problem}`);
  return parsed.value;
}

/** The value, or the text itself when it is no decimal: a field recovered garbled shows as a difference, not a crash. */
function amountOrText(text: string, decimals: number): bigint | string {
  const parsed = parseDecimal(text, decimals, decimals);
  return parsed.ok ? parsed.value : text;
}

const describeResult = (result: NodeResult | undefined) => (result === undefined ? "no result" : JSON.stringify(result.result, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v)));

/** Runs commands in Execute calls of READ_BATCH_COMMANDS; one result per command, in order. */
async function execute(client: NodeClient, commands: Command[]): Promise<NodeResult[]> {
  const results: NodeResult[] = [];
  for (let at = 0; at < commands.length; at += READ_BATCH_COMMANDS) {
    const batch = commands.slice(at, at + READ_BATCH_COMMANDS);
    const response = await client.execute({ commands: batch });
    expect(response.results.length).toBe(batch.length);
    results.push(...response.results);
  }
  return results;
}

/** Null when the order is exactly what was asked for, untouched since; else how it differs. */
function differenceFromRequest(order: Order, request: OrderRequest): string | null {
  const seen = {
    clientOrderId: order.clientOrderId, accountId: order.accountId, symbol: order.symbol, side: order.side, type: order.type,
    timeInForce: order.timeInForce, qty: amountOrText(order.qty, 0), limitPrice: amountOrText(order.limitPrice, CASH_DECIMALS),
    stopPrice: order.stopPrice, status: order.status, filledQty: order.filledQty, filledAvgPrice: order.filledAvgPrice,
    rejectReason: order.rejectReason, replaces: order.replaces, replacedBy: order.replacedBy, hasId: order.id !== "",
  };
  const asked = {
    ...seen, clientOrderId: request.clientOrderId, accountId: request.accountId, symbol: request.symbol, side: request.side,
    type: request.type, timeInForce: request.timeInForce, qty: amountOrText(request.qty, 0), limitPrice: amountOrText(request.limitPrice, CASH_DECIMALS),
    stopPrice: "", status: OrderStatus.NEW, filledQty: "0", filledAvgPrice: "", rejectReason: "", replaces: "", replacedBy: "", hasId: true,
  };
  const fields = Object.keys(asked).filter((key) => seen[key as keyof typeof seen] !== asked[key as keyof typeof asked]);
  return fields.length === 0 ? null : `${fields.join(", ")} differ: ${toJsonString(OrderSchema, order)}`;
}

interface LoadRun {
  failuresBeforeKill: string[];
  refusals: string[];
}

/**
 * Keeps CALLS_IN_FLIGHT Execute calls of SubmitOrder in flight until acksBeforeKill orders are
 * acknowledged, then SIGKILLs the node with the rest still in the air. Every order goes into
 * `submitted`, marked acknowledged only when its ok result arrived.
 */
async function submitUntilKilled(node: NodeProcess, accounts: readonly string[], round: string, acksBeforeKill: number, nextQty: () => bigint, submitted: Submitted[]): Promise<LoadRun> {
  const session = createNodeSession(node.url);
  const client = createClient(NodeService, createNodeTransport(node.url, { session }));
  const run: LoadRun = { failuresBeforeKill: [], refusals: [] };
  let killed = false;
  let acked = 0;
  let calls = 0;
  let orders = 0;
  const newOrder = (): Submitted => {
    const index = orders++;
    const request: OrderRequest = {
      accountId: accounts[index % accounts.length] ?? "",
      clientOrderId: `${round}-${index}`,
      symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
      qty: String(nextQty()), limitPrice: LIMIT_PRICE,
    };
    const order: Submitted = { request, acked: false, known: "unknown" };
    submitted.push(order);
    return order;
  };
  const caller = async (): Promise<void> => {
    while (!killed && orders < ORDERS_SUBMITTED_MAX) {
      const batch = Array.from({ length: calls++ % BATCH_EVERY === 0 ? BATCH_ORDERS : 1 }, newOrder);
      let results: NodeResult[];
      try {
        ({ results } = await client.execute({ commands: batch.map((s): Command => ({ command: { case: "submitOrder", value: s.request } })) }));
      } catch (error) {
        // Cut off by the kill, these orders stay unknown; before it, no call may fail.
        if (!killed) run.failuresBeforeKill.push(String(error));
        return;
      }
      batch.forEach((s, i) => {
        const result = results[i];
        if (result?.result.case !== "submitOrder" || result.result.value.order === undefined) {
          run.refusals.push(`${s.request.clientOrderId}: ${describeResult(result)}`);
          return;
        }
        s.acked = true;
        s.known = result.result.value.order;
        acked += 1;
      });
      if (!killed && acked >= acksBeforeKill) {
        killed = true;
        node.proc.kill("SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, caller));
  await killNodeProcess(node);
  session.abort();
  // A node that died by itself (a crash, not our kill) shows why.
  expect({ signal: node.proc.signalCode, exitCode: node.proc.exitCode, output: run.failuresBeforeKill.length > 0 ? node.output() : "" })
    .toEqual({ signal: "SIGKILL", exitCode: null, output: "" });
  return run;
}

/**
 * Reads every submitted order back by client_order_id and checks it against what is known,
 * then each account's order list and cash. Unknown orders become what the node showed, so the
 * next recovery must show them identically.
 */
async function checkRecovered(client: NodeClient, accounts: readonly string[], submitted: Submitted[]): Promise<void> {
  const results = await execute(client, submitted.map((s): Command => ({
    command: { case: "getOrder", value: { accountId: s.request.accountId, key: { case: "clientOrderId", value: s.request.clientOrderId } } },
  })));
  const problems: string[] = [];
  submitted.forEach((s, i) => {
    const result = results[i];
    const id = s.request.clientOrderId;
    if (result?.result.case === "error" && result.result.value.code === Code.NotFound) {
      if (s.known === "unknown") s.known = "absent";
      else if (s.known !== "absent") problems.push(`${id}: ${s.acked ? "acknowledged" : "recovered before"}, now not found`);
      return;
    }
    const order = result?.result.case === "getOrder" ? result.result.value.order : undefined;
    if (order === undefined) return void problems.push(`${id}: ${describeResult(result)}`);
    if (s.known === "absent") problems.push(`${id}: absent after an earlier recovery, now present: ${toJsonString(OrderSchema, order)}`);
    else if (s.known !== "unknown" && !equals(OrderSchema, order, s.known)) {
      problems.push(`${id}: was ${toJsonString(OrderSchema, s.known)}, recovered ${toJsonString(OrderSchema, order)}`);
    }
    const partial = differenceFromRequest(order, s.request);
    if (partial !== null) problems.push(`${id}: ${partial}`);
    s.known = order;
  });
  expect(problems).toEqual([]);
  for (const accountId of accounts) {
    const present = submitted.flatMap((s) => (s.request.accountId === accountId && typeof s.known === "object" ? [s.known] : []));
    await checkAccount(client, accountId, present);
  }
}

/** The account lists exactly the present orders, identical to GetOrder's, and holds exactly their cash. */
async function checkAccount(client: NodeClient, accountId: string, present: readonly Order[]): Promise<void> {
  const listed: Order[] = [];
  let pageToken = "";
  do {
    const [result] = await execute(client, [{ command: { case: "listOrders", value: { accountId, status: OrderStatusFilter.ALL, pageSize: LIST_PAGE_ORDERS, pageToken } } }]);
    if (result?.result.case !== "listOrders") throw new Error(`ListOrders ${accountId}: ${describeResult(result)}`);
    listed.push(...result.result.value.orders);
    pageToken = result.result.value.nextPageToken;
  } while (pageToken !== "");
  const json = (orders: readonly Order[]) => orders.map((o) => toJsonString(OrderSchema, o)).sort();
  expect(json(listed)).toEqual(json(present));

  const [accountResult, positionsResult] = await execute(client, [
    { command: { case: "getAccount", value: { accountId } } },
    { command: { case: "listPositions", value: { accountId } } },
  ]);
  if (accountResult?.result.case !== "getAccount") throw new Error(`GetAccount ${accountId}: ${describeResult(accountResult)}`);
  if (positionsResult?.result.case !== "listPositions") throw new Error(`ListPositions ${accountId}: ${describeResult(positionsResult)}`);
  const account = accountResult.result.value.account;
  const cash = DEPOSIT_DOLLARS * CASH_SCALE;
  const reserved = present.reduce((sum, o) => sum + decimal(o.qty, 0) * decimal(o.limitPrice, CASH_DECIMALS), 0n);
  expect({
    id: account?.id,
    cash: decimal(account?.cash ?? "", CASH_DECIMALS),
    reserved: decimal(account?.reserved ?? "", CASH_DECIMALS),
    buyingPower: decimal(account?.buyingPower ?? "", CASH_DECIMALS),
    positions: positionsResult.result.value.positions.length,
  }).toEqual({ id: accountId, cash, reserved, buyingPower: cash - reserved, positions: 0 });
}

/** Restarts the node on the same config and data directory and checks everything it recovered. */
async function restartAndCheck(configPath: string, port: number, accounts: readonly string[], submitted: Submitted[]): Promise<NodeProcess> {
  const node = await startNodeProcess(configPath, NODE_ID, port);
  live = node;
  const session = createNodeSession(node.url);
  try {
    await withNodeOutput(node, () => checkRecovered(createClient(NodeService, createNodeTransport(node.url, { session })), accounts, submitted));
  } finally {
    session.abort();
  }
  return node;
}

async function fundAccounts(node: NodeProcess, accounts: readonly string[]): Promise<void> {
  const session = createNodeSession(node.url);
  try {
    const client = createClient(NodeService, createNodeTransport(node.url, { session }));
    const results = await withNodeOutput(node, () => execute(client, accounts.flatMap((accountId): Command[] => [
      { command: { case: "createAccount", value: { accountId } } },
      { command: { case: "deposit", value: { accountId, amount: String(DEPOSIT_DOLLARS) } } },
    ])));
    expect(results.map((r) => r.result.case)).toEqual(accounts.flatMap(() => ["createAccount", "deposit"]));
  } finally {
    session.abort();
  }
}

async function snapshotOffsets(): Promise<(bigint | null)[]> {
  const store = SqliteSnapshotStore.open(join(dataDir, NODE_ID, "snapshots.sqlite"));
  try {
    return await Promise.all(Array.from({ length: SHARD_COUNT }, async (_, shard) => (await store.load(shard))?.nextOffset ?? null));
  } finally {
    await store.close();
  }
}

function tally(submitted: readonly Submitted[], round: string) {
  const mine = submitted.filter((s) => s.request.clientOrderId.startsWith(`${round}-`));
  const acked = mine.filter((s) => s.acked);
  return {
    submitted: mine.length,
    acked: acked.length,
    ackedRecovered: acked.filter((s) => typeof s.known === "object").length,
    unknown: mine.length - acked.length,
    unknownPresent: mine.filter((s) => !s.acked && typeof s.known === "object").length,
  };
}

test("a node killed with SIGKILL under load, twice, recovers every acknowledged order identically and no order in part", async () => {
  const port = await freePort();
  const configPath = writeNodeConfig({ nodeId: NODE_ID, port, shardCount: SHARD_COUNT, dataDir, snapshotEveryRecords: SNAPSHOT_EVERY_RECORDS });
  const accounts = accountIds();
  const nextQty = xorshiftQty(QTY_SEED);
  const submitted: Submitted[] = [];

  const first = await startNodeProcess(configPath, NODE_ID, port);
  live = first;
  await fundAccounts(first, accounts);
  const firstRun = await submitUntilKilled(first, accounts, "r1", ACKS_BEFORE_FIRST_KILL, nextQty, submitted);
  expect(firstRun).toEqual({ failuresBeforeKill: [], refusals: [] });
  // Recovery must start from a snapshot on every shard, not only replay the log from 0.
  expect((await snapshotOffsets()).filter((offset) => offset !== null && offset > 0n).length).toBe(SHARD_COUNT);

  const second = await restartAndCheck(configPath, port, accounts, submitted);
  const firstTally = tally(submitted, "r1");
  expect(firstTally.acked).toBeGreaterThanOrEqual(ACKS_BEFORE_FIRST_KILL);
  expect(firstTally.ackedRecovered).toBe(firstTally.acked);
  // The kill landed under load: orders were in flight, not only acknowledged ones.
  expect(firstTally.unknown).toBeGreaterThan(0);

  const secondRun = await submitUntilKilled(second, accounts, "r2", ACKS_BEFORE_SECOND_KILL, nextQty, submitted);
  expect(secondRun).toEqual({ failuresBeforeKill: [], refusals: [] });
  await restartAndCheck(configPath, port, accounts, submitted);
  const secondTally = tally(submitted, "r2");
  expect(secondTally.acked).toBeGreaterThanOrEqual(ACKS_BEFORE_SECOND_KILL);
  expect(secondTally.ackedRecovered).toBe(secondTally.acked);
  expect(secondTally.unknown).toBeGreaterThan(0);
  // Nothing that the first recovery showed changed in the second: checkRecovered compared them whole.
  expect(tally(submitted, "r1")).toEqual(firstTally);
  console.log(`kill -9 under load: first ${JSON.stringify(firstTally)}, second ${JSON.stringify(secondTally)}`);
});
