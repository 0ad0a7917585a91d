// Overload at the balancer → node hop, against a real node in this process: one client's
// oversize commands never fail another's (a batch closes before it passes the node's message
// limit; a command that cannot fit is refused alone); past its bounds (commands waiting, and how
// long they have waited once the node is behind) the link refuses at once with RESOURCE_EXHAUSTED; a command whose deadline passes before its turn is answered
// DEADLINE_EXCEEDED and leaves no trace in the ledger, while one already decided is answered
// however late, on the Connect path and on connect-es's gRPC path. Both clocks (the balancer's
// and the node's) are the test's; the two waits of 100 ms only let a real deadline timer fire
// where one still exists, and no assertion depends on them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectUnaryCalls } from "../../src/balancer/connect-unary-calls.ts";
import { BATCH_BYTES_MAX, NodeLink, QUEUE_WAIT_INTERVAL_MS, QUEUE_WAIT_TARGET_MS } from "../../src/balancer/node-link.ts";
import { RoutingTable } from "../../src/balancer/routing-table.ts";
import { publicServiceRoutes } from "../../src/balancer/public-services.ts";
import type { NodeAnswer } from "../../src/balancer/node-answer.ts";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeCommandSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter, SubmitOrderRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { balancerMetrics } from "../../src/metrics/balancer-metrics.ts";
import { nodeMetrics } from "../../src/metrics/node-metrics.ts";
import type { NodeCommandCase } from "../../src/node/command-parse.ts";
import { executeCalls, nodeServiceRoutes } from "../../src/node/node-service.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import { sampleOf } from "../metrics/scrape.ts";
import { runtimeScheduler } from "../../src/node/scheduler.ts";
import { SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import { ControlledLog } from "../node/controlled-log.ts";
import { keyHeaders, memoryGate } from "../support/api-keys.ts";
import { authInterceptor } from "../../src/auth/auth-interceptor.ts";

/** The edge's key gate, with one admin key: every call of this file presents it. */
const keys = await memoryGate();

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CALL_TIMEOUT_MS = 5_000;
const QUEUE_COMMANDS_MAX = 6;

/** Counts appends begun, so the test knows when the node has decided a batch. */
class CountingLog extends ControlledLog {
  appends = 0;
  override append(...args: Parameters<ControlledLog["append"]>) {
    this.appends += 1;
    return super.append(...args);
  }
}

let log: CountingLog;
let node: OmsNode;
let server: RpcServer;
let url = "";
let nodeNowMs = 0;
let balancerNowMs = 0;
let ids = 0;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "oms-overload-"));
  log = new CountingLog(SqliteEventLog.open(join(dir, "wal.sqlite")));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  const claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  const archive = SqliteOrderArchive.open(join(dir, "archive.sqlite"));
  node = await OmsNode.start({
    nodeId: "overload", shardCount: 1, shards: [0], shardOf: () => 0, log, snapshots, claims, archive,
    venue: new SimulatedVenue({ seed: 1, now: () => 1_700_000_000_000, manual: true }),
    logger: quiet, snapshotEveryRecords: 1_000_000, leaseMs: 60_000, ackTimeoutMs: 60_000,
    clock: () => 1_700_000_000_000,
    scheduler: { ...runtimeScheduler, now: () => nodeNowMs },
    onFatal: (error) => {
      throw error;
    },
  });
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: nodeServiceRoutes(node), unaryCalls: executeCalls(node, () => `o-${++ids}`) });
  url = `http://127.0.0.1:${server.port}`;
  closers.push(() => server.close(), () => node.close(), () => node.release(), () => log.close(), () => snapshots.close(), () => claims.close(), () => archive.close());
}, 30_000);

afterAll(async () => {
  for (const close of closers) await close();
});

function newLink(id: string): NodeLink {
  const link = new NodeLink({ id, url, shards: [0] }, createNodeTransport(url), { info: () => undefined, warn: () => undefined }, CALL_TIMEOUT_MS, {}, {
    queueCommandsMax: QUEUE_COMMANDS_MAX,
    nowMs: () => balancerNowMs,
  });
  closers.unshift(() => link.close());
  return link;
}

type Command = NonNullable<MessageInitShape<typeof NodeCommandSchema>["command"]>;
const buy = (accountId: string, clientOrderId: string): Command => ({
  case: "submitOrder",
  value: { accountId, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "10" },
});

/** What one command came to: "ok", or the refusal's code name and message. */
async function outcomeOf(answered: Promise<NodeAnswer>, resultCase: "submitOrder" | "createAccount" | "deposit"): Promise<string> {
  try {
    const value = (await answered).valueOf(resultCase);
    return value instanceof ConnectError ? `${Code[value.code]}: ${value.rawMessage}` : "ok";
  } catch (error) {
    const refusal = ConnectError.from(error);
    return `${Code[refusal.code]}: ${refusal.rawMessage}`;
  }
}

async function openAccount(link: NodeLink, accountId: string): Promise<void> {
  expect(await outcomeOf(link.answer(create(NodeCommandSchema, { command: { case: "createAccount", value: { accountId } } })), "createAccount")).toBe("ok");
  expect(await outcomeOf(link.answer(create(NodeCommandSchema, { command: { case: "deposit", value: { accountId, amount: "100000" } } })), "deposit")).toBe("ok");
}

/** The account's orders as the node's ledger holds them: client order ids, and the cash their holds take. */
async function ledgerOf(link: NodeLink, accountId: string): Promise<{ clientOrderIds: string[]; buyingPower: string }> {
  const orders = (await link.answer(create(NodeCommandSchema, { command: { case: "listOrders", value: { accountId, status: OrderStatusFilter.ALL, pageSize: 500 } } }))).resultOf("listOrders").orders;
  const account = (await link.answer(create(NodeCommandSchema, { command: { case: "getAccount", value: { accountId } } }))).resultOf("getAccount").account;
  return { clientOrderIds: orders.map((order) => order.clientOrderId).sort(), buyingPower: account?.buyingPower ?? "" };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await Bun.sleep(2);
  expect(condition()).toBe(true);
}

test("oversize commands in a burst fail only themselves: the batch closes before the node's limit", async () => {
  const link = newLink("node-bytes");
  await openAccount(link, "bytes-1");
  // Two ~3.5 MB client order ids among innocent orders, all in one event-loop turn: before the
  // byte bound, they went in one Execute past 4 MiB and the node refused the whole batch.
  const huge = "x".repeat(3_500_000);
  const burst = [buy("bytes-1", "i-1"), buy("bytes-1", huge), buy("bytes-1", "i-2"), buy("bytes-1", `${huge}y`), buy("bytes-1", "i-3")];
  const outcomes = await Promise.all(burst.map((command) => outcomeOf(link.answer(create(NodeCommandSchema, { command })), "submitOrder")));
  expect(outcomes).toEqual(["ok", "InvalidArgument: client_order_id: must be at most 128 characters", "ok", "InvalidArgument: client_order_id: must be at most 128 characters", "ok"]);
  expect((await ledgerOf(link, "bytes-1")).clientOrderIds).toEqual(["i-1", "i-2", "i-3"]);

  // One command that no batch can hold is refused alone, at once, naming what is too large.
  const tooLarge = outcomeOf(link.answer(create(NodeCommandSchema, { command: buy("bytes-1", "z".repeat(BATCH_BYTES_MAX)) })), "submitOrder");
  const innocent = outcomeOf(link.answer(create(NodeCommandSchema, { command: buy("bytes-1", "i-4") })), "submitOrder");
  expect(await tooLarge).toMatch(/^ResourceExhausted: command: \d+ bytes encoded, more than a batch to a node may hold \(4194304\); nothing was done$/);
  expect(await innocent).toBe("ok");
  expect(balancerMetrics.refusedCount("node-bytes", "too_large")).toBe(1);
}, 30_000);

test("past its bound the link refuses at once; a command whose deadline passed while it waited is not decided, and leaves no trace", async () => {
  const link = newLink("node-full");
  await openAccount(link, "full-1");
  const before = await ledgerOf(link, "full-1");
  const release = Promise.withResolvers<void>();
  log.held = release.promise;
  const send = (clientOrderId: string) => outcomeOf(link.answer(create(NodeCommandSchema, { command: buy("full-1", clientOrderId) })), "submitOrder");
  const queuedSeen: number[] = [];
  const sent: Promise<string>[] = [];
  // Two batches go to the node, which decides them and waits for the held log.
  const appendsBefore = log.appends;
  sent.push(send("d-1"));
  await until(() => log.appends === appendsBefore + 1);
  sent.push(send("d-2"));
  await until(() => log.appends === appendsBefore + 2);
  // The next four wait at the balancer (two batches in flight); the bound is six in all.
  for (const id of ["w-1", "w-2", "w-3", "w-4", "r-1", "r-2"]) {
    sent.push(send(id));
    queuedSeen.push(link.queued);
  }
  // The balancer's clock passes every waiting command's deadline; then the node answers.
  balancerNowMs += CALL_TIMEOUT_MS + 1;
  log.held = null;
  release.resolve();
  const outcomes = await Promise.all(sent);

  expect(Math.max(...queuedSeen)).toBeLessThanOrEqual(QUEUE_COMMANDS_MAX);
  expect(queuedSeen).toEqual([3, 4, 5, 6, 6, 6]);
  const full = "ResourceExhausted: node node-full has 6 commands waiting or in flight, the most it takes; nothing was done, retry after a pause";
  const expired = "DeadlineExceeded: the operation timed out while it waited for the node; it was not sent, nothing was done";
  // Decided before the deadline passed: answered, however late.
  expect(outcomes).toEqual(["ok", "ok", expired, expired, expired, expired, full, full]);
  const after = await ledgerOf(link, "full-1");
  expect(after.clientOrderIds).toEqual([...before.clientOrderIds, "d-1", "d-2"].sort());
  // Two orders of 1 share at $10 hold $20; nothing else is held.
  expect(Number(before.buyingPower) - Number(after.buyingPower)).toBe(20);
  // As /metrics shows them.
  const exposed = await balancerMetrics.registry().metrics();
  expect(sampleOf(exposed, 'oms_balancer_node_commands_refused_total{node="node-full",reason="queue_full"}')).toBe(2);
  expect(sampleOf(exposed, 'oms_balancer_node_commands_refused_total{node="node-full",reason="deadline_expired"}')).toBe(4);
  expect(link.queued).toBe(0);
}, 30_000);

test("once every batch for an interval took commands that waited past the target, new commands are refused while the oldest has; a burst or one stall is not", async () => {
  const link = newLink("node-behind");
  await openAccount(link, "behind-1");
  const send = (clientOrderId: string) => outcomeOf(link.answer(create(NodeCommandSchema, { command: buy("behind-1", clientOrderId) })), "submitOrder");
  const holdLog = () => {
    const release = Promise.withResolvers<void>();
    log.held = release.promise;
    return () => {
      log.held = null;
      release.resolve();
    };
  };
  // Two batches with the node, held; the third waits at the link past the target: one stall.
  let release = holdLog();
  const appendsBefore = log.appends;
  const first = [send("b-1")];
  await until(() => log.appends === appendsBefore + 1);
  first.push(send("b-2"));
  await until(() => log.appends === appendsBefore + 2);
  const stalled = send("b-3");
  balancerNowMs += QUEUE_WAIT_TARGET_MS + 1;
  // A command arriving now is admitted: commands have waited long, but not for an interval.
  const admitted = send("b-4");
  const releaseFirst = release;
  release = holdLog();
  releaseFirst();
  expect(await Promise.all(first)).toEqual(["ok", "ok"]);
  // b-3 and b-4 went with the node's answer, having waited past the target; the node holds them.
  await until(() => log.appends === appendsBefore + 4);
  const behind = send("b-5");
  balancerNowMs += QUEUE_WAIT_INTERVAL_MS;
  const refused = await send("b-6");
  expect(refused).toBe(`ResourceExhausted: node node-behind is behind: for ${QUEUE_WAIT_INTERVAL_MS} ms its commands have waited over ${QUEUE_WAIT_TARGET_MS} ms to be sent (the oldest ${QUEUE_WAIT_INTERVAL_MS} ms); nothing was done, retry after a pause`);
  release();
  expect(await Promise.all([stalled, admitted, behind])).toEqual(["ok", "ok", "ok"]);
  // Drained: admitted again.
  expect(await send("b-7")).toBe("ok");
  expect(balancerMetrics.refusedCount("node-behind", "queue_wait")).toBe(1);
  expect((await ledgerOf(link, "behind-1")).clientOrderIds).toEqual(["b-1", "b-2", "b-3", "b-4", "b-5", "b-7"]);
}, 30_000);

test("the node refuses a command whose time ran out before its turn, undecided, and decides the rest of its batch", async () => {
  const link = newLink("node-deadline");
  await openAccount(link, "late-1");
  const client = new LeanUnaryClient(url, `/${NodeService.typeName}/${NodeService.method.execute.name}`, ExecuteRequestSchema, ExecuteResponseSchema);
  closers.unshift(() => client.close());
  // timeouts_ms 0: the command's time is up when the call arrives; the next has a minute.
  const request = create(ExecuteRequestSchema, {
    commands: [{ command: buy("late-1", "late") }, { command: buy("late-1", "on-time") }, { command: buy("late-1", "no-deadline") }],
    timeoutsMs: [0, 60_000],
  });
  const expiredBefore = nodeMetrics.commandCount("submit_order", "deadline_exceeded");
  const response = await client.call(request, CALL_TIMEOUT_MS);
  expect(nodeMetrics.commandCount("submit_order", "deadline_exceeded")).toBe(expiredBefore + 1);
  expect(response.results.map((result) => (result.result.case === "error" ? `${Code[result.result.value.code]}: ${result.result.value.message}` : result.result.case))).toEqual([
    "DeadlineExceeded: the operation timed out before the node took it up; it was not decided, nothing was done",
    "submitOrder",
    "submitOrder",
  ]);
  expect((await ledgerOf(link, "late-1")).clientOrderIds).toEqual(["no-deadline", "on-time"]);

  // More timeouts than commands is a malformed batch: refused whole, naming the field.
  const malformed = create(ExecuteRequestSchema, { commands: [{ command: buy("late-1", "extra") }], timeoutsMs: [1_000, 1_000] });
  await expect(client.call(malformed, CALL_TIMEOUT_MS)).rejects.toThrow("timeouts_ms: 2 for 1 commands, at most one each");
  expect((await ledgerOf(link, "late-1")).clientOrderIds).toEqual(["no-deadline", "on-time"]);
}, 30_000);

test("the node's clock decides: a deadline that passes on it between two batches refuses the later one", async () => {
  const link = newLink("node-clock");
  await openAccount(link, "clock-1");
  const deadline = nodeNowMs + 100;
  const wire = (clientOrderId: string) => create(NodeCommandSchema, { command: buy("clock-1", clientOrderId) }).command as NodeCommandCase;
  await node.execute(wire("before"), () => `o-${++ids}`, deadline);
  nodeNowMs = deadline;
  await node.execute(wire("at-deadline"), () => `o-${++ids}`, deadline);
  expect((await ledgerOf(link, "clock-1")).clientOrderIds).toEqual(["before"]);
}, 30_000);

test("through the balancer's edge, an order answered DEADLINE_EXCEEDED was never placed; one decided is answered however late", async () => {
  const link = newLink("node-edge");
  await openAccount(link, "edge-1");
  const routing = new RoutingTable(1, () => 0, [link]);
  const edge = await serveRpc({ host: "127.0.0.1", port: 0, routes: () => undefined, unaryCalls: connectUnaryCalls(routing, () => "new-account", keys.gate) });
  closers.unshift(() => edge.close());
  const submit = (clientOrderId: string, timeoutMs: number) =>
    fetch(`http://127.0.0.1:${edge.port}/oms.v1.OrderService/SubmitOrder`, {
      method: "POST",
      headers: edgeHeaders({ "content-type": "application/json", "connect-timeout-ms": String(timeoutMs) }),
      body: JSON.stringify({ accountId: "edge-1", clientOrderId, symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", qty: "1", limitPrice: "10" }),
    }).then(async (response) => (response.ok ? "ok" : ((await response.json()) as { code: string }).code));
  const release = Promise.withResolvers<void>();
  log.held = release.promise;
  const appendsBefore = log.appends;
  // Decided at once (its 50 ms have not passed on the node's clock), then held by the log
  // for longer than its deadline: it must be answered, not timed out.
  const decided = submit("slow-log", 50);
  await until(() => log.appends === appendsBefore + 1);
  await Bun.sleep(100);
  log.held = null;
  release.resolve();
  expect(await decided).toBe("ok");
  // A deadline already spent when the call arrives: refused before it is routed, never placed.
  expect(await submit("never", 0)).toBe("deadline_exceeded");
  expect((await ledgerOf(link, "edge-1")).clientOrderIds).toEqual(["slow-log"]);
}, 30_000);

/** Every request header this file's edge calls send, in one place: the admin key. */
function edgeHeaders(headers: Record<string, string>): Record<string, string> {
  return { ...headers, ...keyHeaders(keys.admin) };
}

test("over gRPC (connect-es), an order decided before its grpc-timeout passed is answered ok, however late", async () => {
  const link = newLink("node-grpc");
  await openAccount(link, "grpc-1");
  const routing = new RoutingTable(1, () => 0, [link]);
  const edge = await serveRpc({ host: "127.0.0.1", port: 0, routes: publicServiceRoutes(routing, () => "new-account", authInterceptor(keys.gate)) });
  closers.unshift(() => edge.close());
  const release = Promise.withResolvers<void>();
  log.held = release.promise;
  const appendsBefore = log.appends;
  const body = toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, { accountId: "grpc-1", clientOrderId: "g-1", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "10" }));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  const session = http2.connect(`http://127.0.0.1:${edge.port}`);
  const answer = new Promise<string>((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": "/oms.v1.OrderService/SubmitOrder", ...(edgeHeaders({ "content-type": "application/grpc", te: "trailers", "grpc-timeout": "50m" })) });
    let status = "";
    stream.on("response", (h) => (status += `h:${h["grpc-status"] ?? ""}`));
    stream.on("trailers", (t) => (status += `t:${t["grpc-status"]} ${t["grpc-message"] ?? ""}`));
    stream.resume();
    stream.on("close", () => resolve(status));
    stream.end(frame);
  });
  await until(() => log.appends === appendsBefore + 1);
  // Held by the log past its 50 ms deadline.
  await Bun.sleep(100);
  log.held = null;
  release.resolve();
  expect(await answer).toBe("h:t:0 ");
  session.close();
  expect((await ledgerOf(link, "grpc-1")).clientOrderIds).toEqual(["g-1"]);
}, 30_000);
