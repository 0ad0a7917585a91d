// The kill -9 scenario, run against whichever storage a node's config file names: a node
// process killed with SIGKILL under load comes back with every acknowledged order exactly as it
// was acknowledged, and every order whose reply the kill cut off either whole or absent: a
// reply waits for the log, and recovery (a snapshot, then the log after it) rebuilds the same
// ledger. Kills repeat, cycle after cycle, on a log that already went through recoveries and
// snapshots; every cycle checks every order of every earlier one again.
import { expect } from "bun:test";
import { equals, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { shardOf } from "../../src/config/shard-of.ts";
import { CASH_DECIMALS, CASH_SCALE, parseDecimal } from "../../src/core/money.ts";
import { NodeService, type NodeCommandSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/gen/oms/v1/trading_pb.ts";
import { createNodeTransport, NODE_CALL_TIMEOUT_MS_DEFAULT } from "../../src/rpc/transport.ts";
import { killNodeProcess, startNodeProcess, withNodeOutput, type NodeProcess } from "./node-process.ts";

export interface Kill9Scenario {
  /** A config file for one node owning all shardCount shards, on the storage under test. */
  configPath: string;
  nodeId: string;
  port: number;
  shardCount: number;
  /** Each shard's latest snapshot offset in the node's snapshot store, null where it has none; read while the node is dead. */
  snapshotOffsets: () => Promise<(bigint | null)[]>;
  /** Execute calls of SubmitOrder kept in flight at once. */
  callsInFlight: number;
  /** Every batchEvery-th call carries batchOrders orders, as a balancer's batches do; the others one. */
  batchEvery: number;
  batchOrders: number;
  /** The first kill lands once this many orders are acknowledged; enough for every shard to have a snapshot. */
  acksBeforeFirstKill: number;
  /** Acknowledgements before each later kill; small, so that many cycles fit a test run. */
  acksBeforeLaterKills: number;
  /** Kills (each followed by a restart and a full check); at least 2 proves a recovered log recovers again. */
  cycles: number;
  /** Each kill must land with at least this many orders sent and not yet answered. */
  ordersInFlightAtKillMin: number;
  /** The deadline of every call; above the node's ackTimeoutMs, so the node answers first. */
  callTimeoutMs?: number;
}

/** One round of load ended by a kill, as the next recovery showed it. */
export interface RoundTally {
  submitted: number;
  acked: number;
  ackedRecovered: number;
  /** Orders sent and not yet answered when the kill was sent. */
  inFlightAtKill: number;
  /** Orders whose reply never came. */
  unknown: number;
  unknownPresent: number;
}

const ACCOUNTS_PER_SHARD = 2;
export const DEPOSIT_DOLLARS = 1_000_000n;
const QTY_MAX = 100;
/** Far below AAPL's ~$190: the venue never fills it, so nothing but the orders changes state. */
export const LIMIT_PRICE = "1";
/** Bounds a run whose acknowledgements never come (every order refused): it then ends and fails. */
const ORDERS_SUBMITTED_MAX = 20_000;
const READ_BATCH_COMMANDS = 256;
const LIST_PAGE_ORDERS = 100;
/** Reproduces the quantities; the interleaving of calls is up to the scheduler. */
export const QTY_SEED = 0x9e3779b9;
/** Each cycle re-reads every order of every earlier round: the checks grow with the square of this. */
const FAULT_CYCLES_MAX = 1_000;

type Command = MessageInitShape<typeof NodeCommandSchema>;
export type NodeClient = Client<typeof NodeService>;

export interface OrderRequest {
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
export interface Submitted {
  request: OrderRequest;
  acked: boolean;
  known: Order | "absent" | "unknown";
}

/** The node processes of one run, each connected through one session that the run closes. */
interface Run {
  scenario: Kill9Scenario;
  accounts: readonly string[];
  submitted: Submitted[];
  nextQty: () => bigint;
  live: NodeProcess | null;
}

/** What a run of kill cycles showed: every round's tally, and the totals the issue reports. */
export interface Kill9Outcome {
  rounds: RoundTally[];
  cycles: number;
  acked: number;
  /** Acknowledged orders that a later recovery did not show exactly as acknowledged: must be 0. */
  lost: number;
}

/**
 * Starts the node, funds its accounts, then `cycles` times: kills it under load, restarts it
 * on the same storage and checks everything it recovered, every earlier round included (an
 * order recovered once must come back identically after every later kill). Leaves no node running.
 */
export async function runKill9Scenario(scenario: Kill9Scenario): Promise<Kill9Outcome> {
  const run: Run = { scenario, accounts: accountIds(scenario.shardCount), submitted: [], nextQty: xorshiftQty(QTY_SEED), live: null };
  try {
    let live = await startNodeProcess(scenario.configPath, scenario.nodeId, scenario.port);
    run.live = live;
    await fundAccounts(run, live);
    // Recovery must start from a snapshot on every shard, not only replay the log from 0:
    // orders go in until each shard has saved one (snapshots are taken in the background).
    expect(await submitUntilSnapshotted(run, live)).toBe(scenario.shardCount);
    const rounds: RoundTally[] = [];
    const shown: Omit<RoundTally, "inFlightAtKill">[] = [];
    for (let cycle = 1; cycle <= scenario.cycles; cycle++) {
      const round = `r${cycle}`;
      const acksBeforeKill = cycle === 1 ? scenario.acksBeforeFirstKill : scenario.acksBeforeLaterKills;
      const load = await submitUntilKilled(run, live, round, acksBeforeKill);
      expect(load.run).toEqual({ failuresBeforeKill: [], refusals: [] });
      live = await restartAndCheck(run);
      const counts = tally(run.submitted, round);
      const roundTally = { ...counts, inFlightAtKill: load.ordersInFlightAtKill };
      expect(roundTally.acked).toBeGreaterThanOrEqual(acksBeforeKill);
      expect(roundTally.ackedRecovered).toBe(roundTally.acked);
      // The kill landed under load: orders were in flight, not only acknowledged ones.
      expect(roundTally.inFlightAtKill).toBeGreaterThanOrEqual(scenario.ordersInFlightAtKillMin);
      expect(roundTally.unknown).toBeGreaterThan(0);
      // Nothing an earlier recovery showed changed: checkRecovered compared every order whole.
      expect(shown.map((_, i) => tally(run.submitted, `r${i + 1}`))).toEqual(shown);
      shown.push(counts);
      rounds.push(roundTally);
    }
    const acked = rounds.reduce((sum, r) => sum + r.acked, 0);
    const lost = rounds.reduce((sum, r) => sum + r.acked - r.ackedRecovered, 0);
    return { rounds, cycles: rounds.length, acked, lost };
  } finally {
    if (run.live !== null) await killNodeProcess(run.live);
  }
}

/**
 * Kill cycles for one test run: OMS_FAULT_CYCLES when set (the long mode, e.g. 200), else the
 * suite's count, chosen to keep the suite inside its CI budget.
 */
export function faultCycles(suiteCycles: number): number {
  const text = process.env["OMS_FAULT_CYCLES"];
  if (text === undefined || text === "") return suiteCycles;
  const cycles = Number(text);
  if (!Number.isInteger(cycles) || cycles < 1 || cycles > FAULT_CYCLES_MAX) {
    throw new Error(`OMS_FAULT_CYCLES must be an integer from 1 to ${FAULT_CYCLES_MAX}, got "${text}"`);
  }
  return cycles;
}

export function xorshiftQty(seed: number): () => bigint {
  let x = seed >>> 0 || 1;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return BigInt((x % QTY_MAX) + 1);
  };
}

/** ACCOUNTS_PER_SHARD account ids on each shard, so that every shard's log and snapshots are exercised. */
export function accountIds(shardCount: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < shardCount * ACCOUNTS_PER_SHARD; i += 1) {
    const id = `trader-${i}`;
    if (ids.filter((other) => shardOf(other, shardCount) === shardOf(id, shardCount)).length < ACCOUNTS_PER_SHARD) ids.push(id);
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

/**
 * A client on its own session; the caller aborts the session when done. The session sends no
 * keepalive PINGs (the library's default, unlike createNodeSession's): connect-node 2.2.0 re-arms
 * the PING timer when streams close after their session died, and the timer then pings the dead
 * session, an uncaught ERR_HTTP2_INVALID_SESSION some 10 s after a kill with calls in flight
 * (connectrpc/connect-es#1795). The test kills the node itself; it needs no keepalive.
 */
function connect(run: Run, node: NodeProcess) {
  const session = new Http2SessionManager(node.url);
  const timeoutMs = run.scenario.callTimeoutMs ?? NODE_CALL_TIMEOUT_MS_DEFAULT;
  return { session, client: createClient(NodeService, createNodeTransport(node.url, { session, timeoutMs })) };
}

/** Runs commands in Execute calls of READ_BATCH_COMMANDS; one result per command, in order. */
export async function execute(client: NodeClient, commands: Command[]): Promise<NodeResult[]> {
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
 * Keeps callsInFlight Execute calls of SubmitOrder in flight until acksBeforeKill orders are
 * acknowledged, then SIGKILLs the node with the rest still in the air. Every order goes into
 * `submitted`, marked acknowledged only when its ok result arrived.
 */
/** Bounds the warm-up: a node that never snapshots every shard fails the scenario, not hangs it. */
const SNAPSHOT_WARMUP_BATCHES_MAX = 200;
const SNAPSHOT_WARMUP_BATCH_ORDERS = 100;

/** Submits acknowledged orders (round "r0") until every shard has a snapshot; returns how many have. */
async function submitUntilSnapshotted(run: Run, node: NodeProcess): Promise<number> {
  const { session, client } = connect(run, node);
  const snapshotted = async () => (await run.scenario.snapshotOffsets()).filter((offset) => offset !== null && offset > 0n).length;
  let index = 0;
  try {
    for (let batch = 0; batch < SNAPSHOT_WARMUP_BATCHES_MAX && (await snapshotted()) < run.scenario.shardCount; batch++) {
      const orders = Array.from({ length: SNAPSHOT_WARMUP_BATCH_ORDERS }, (): Submitted => {
        const i = index++;
        const request: OrderRequest = {
          accountId: run.accounts[i % run.accounts.length] ?? "",
          clientOrderId: `r0-${i}`,
          symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
          qty: String(run.nextQty()), limitPrice: LIMIT_PRICE,
        };
        const order: Submitted = { request, acked: false, known: "unknown" };
        run.submitted.push(order);
        return order;
      });
      const results = await withNodeOutput(node, () => execute(client, orders.map((o): Command => ({ command: { case: "submitOrder", value: o.request } }))));
      orders.forEach((o, i) => {
        const result = results[i];
        if (result?.result.case !== "submitOrder" || result.result.value.order === undefined) throw new Error(`warm-up order refused: ${describeResult(result)}`);
        o.acked = true;
        o.known = result.result.value.order;
      });
    }
    return await snapshotted();
  } finally {
    session.abort();
  }
}

async function submitUntilKilled(run: Run, node: NodeProcess, round: string, acksBeforeKill: number): Promise<{ run: LoadRun; ordersInFlightAtKill: number }> {
  const { callsInFlight, batchEvery, batchOrders } = run.scenario;
  const { session, client } = connect(run, node);
  const load: LoadRun = { failuresBeforeKill: [], refusals: [] };
  let killed = false;
  let acked = 0;
  let calls = 0;
  let orders = 0;
  let ordersInFlight = 0;
  let ordersInFlightAtKill = 0;
  const newOrder = (): Submitted => {
    const index = orders++;
    const request: OrderRequest = {
      accountId: run.accounts[index % run.accounts.length] ?? "",
      clientOrderId: `${round}-${index}`,
      symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
      qty: String(run.nextQty()), limitPrice: LIMIT_PRICE,
    };
    const order: Submitted = { request, acked: false, known: "unknown" };
    run.submitted.push(order);
    return order;
  };
  const caller = async (): Promise<void> => {
    while (!killed && orders < ORDERS_SUBMITTED_MAX) {
      const batch = Array.from({ length: calls++ % batchEvery === 0 ? batchOrders : 1 }, newOrder);
      let results: NodeResult[];
      ordersInFlight += batch.length;
      try {
        ({ results } = await client.execute({ commands: batch.map((s): Command => ({ command: { case: "submitOrder", value: s.request } })) }));
      } catch (error) {
        // Cut off by the kill, these orders stay unknown; before it, no call may fail.
        if (!killed) load.failuresBeforeKill.push(String(error));
        return;
      } finally {
        ordersInFlight -= batch.length;
      }
      batch.forEach((s, i) => {
        const result = results[i];
        if (result?.result.case !== "submitOrder" || result.result.value.order === undefined) {
          load.refusals.push(`${s.request.clientOrderId}: ${describeResult(result)}`);
          return;
        }
        s.acked = true;
        s.known = result.result.value.order;
        acked += 1;
      });
      if (!killed && acked >= acksBeforeKill) {
        killed = true;
        ordersInFlightAtKill = ordersInFlight;
        node.proc.kill("SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: callsInFlight }, caller));
  await killNodeProcess(node);
  session.abort();
  // A node that died by itself (a crash, not our kill) shows why.
  expect({ signal: node.proc.signalCode, exitCode: node.proc.exitCode, output: load.failuresBeforeKill.length > 0 ? node.output() : "" })
    .toEqual({ signal: "SIGKILL", exitCode: null, output: "" });
  return { run: load, ordersInFlightAtKill };
}

/**
 * Reads every submitted order back by client_order_id and checks it against what is known,
 * then each account's order list and cash. Unknown orders become what the node showed, so the
 * next recovery must show them identically.
 */
export async function checkRecovered(client: NodeClient, accounts: readonly string[], submitted: Submitted[]): Promise<void> {
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

/** Restarts the node on the same config and storage and checks everything it recovered. */
async function restartAndCheck(run: Run): Promise<NodeProcess> {
  const { configPath, nodeId, port } = run.scenario;
  const node = await startNodeProcess(configPath, nodeId, port);
  run.live = node;
  const { session, client } = connect(run, node);
  try {
    await withNodeOutput(node, () => checkRecovered(client, run.accounts, run.submitted));
  } finally {
    session.abort();
  }
  return node;
}

async function fundAccounts(run: Run, node: NodeProcess): Promise<void> {
  const { session, client } = connect(run, node);
  try {
    const results = await withNodeOutput(node, () => execute(client, run.accounts.flatMap((accountId): Command[] => [
      { command: { case: "createAccount", value: { accountId } } },
      { command: { case: "deposit", value: { accountId, amount: String(DEPOSIT_DOLLARS) } } },
    ])));
    expect(results.map((r) => r.result.case)).toEqual(run.accounts.flatMap(() => ["createAccount", "deposit"]));
  } finally {
    session.abort();
  }
}

function tally(submitted: readonly Submitted[], round: string): Omit<RoundTally, "inFlightAtKill"> {
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
