// GET /metrics on a started node and balancer (in this process, as `oms node` and `oms
// balancer` start them): the text exposition with every family the operators' brief names,
// counters that move when a command is refused, and the node's shards as owned.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { ADMIN, issueClusterKey, keyHeaders, keyInterceptor } from "../support/api-keys.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { familiesOf, sampleOf, scrape } from "./scrape.ts";

const SHARDS = [0, 1, 2, 3];
const SUBMIT_ORDER = "oms.v1.OrderService/SubmitOrder";
let dataDir = "";
let node: RunningNode;
let balancer: RunningBalancer;
let balancerUrl = "";
let nodeUrl = "";
/** Every call here presents this admin key. */
let adminKey = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "oms-metrics-"));
  const config: ClusterConfig = {
    ...CLUSTER_DEFAULTS,
    shardCount: SHARDS.length,
    dataDir,
    logLevel: "warn",
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: SHARDS }],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  node = await startNode(config, "node-a");
  balancer = await startBalancer(config, 0);
  balancerUrl = `http://127.0.0.1:${balancer.server.port}`;
  nodeUrl = `http://127.0.0.1:${node.server.port}`;
});

afterAll(async () => {
  await balancer?.stop();
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A Connect JSON call through the balancer's public edge; the answer's body, parsed. */
async function call(method: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${balancerUrl}/${method}`, { method: "POST", headers: { "content-type": "application/json", ...keyHeaders(adminKey) }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const order = (accountId: string) => ({ accountId, symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", qty: "1", limitPrice: "1.00" });

test("the balancer answers GET /metrics with every balancer and process family", async () => {
  expect((await call("oms.v1.AccountService/CreateAccount", { accountId: "m-1" })).status).toBe(200);
  expect((await call("oms.v1.AccountService/Deposit", { accountId: "m-1", amount: "100" })).status).toBe(200);
  expect((await call(SUBMIT_ORDER, order("m-1"))).status).toBe(200);
  const { status, contentType, text } = await scrape(balancerUrl);
  expect(status).toBe(200);
  expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
  const families = familiesOf(text);
  for (const family of [
    "oms_balancer_requests_total",
    "oms_balancer_request_duration_seconds",
    "oms_balancer_node_execute_duration_seconds",
    "oms_balancer_node_batch_commands",
    "oms_balancer_node_up",
    "oms_event_loop_lag_seconds",
    "oms_event_loop_lag_max_seconds",
    "process_resident_memory_bytes",
    "nodejs_heap_size_used_bytes",
    "process_cpu_seconds_total",
  ]) {
    expect(families).toContain(family);
  }
  expect(sampleOf(text, `oms_balancer_requests_total{method="${SUBMIT_ORDER}",code="ok"}`)).toBeGreaterThanOrEqual(1);
  expect(sampleOf(text, `oms_balancer_request_duration_seconds_count{method="${SUBMIT_ORDER}"}`)).toBeGreaterThanOrEqual(1);
  expect(sampleOf(text, 'oms_balancer_node_batch_commands_count{node="node-a"}')).toBeGreaterThanOrEqual(1);
  expect(sampleOf(text, 'oms_balancer_node_up{node="node-a"}')).toBe(1);
});

test("a refused command moves the refusal counters at the balancer and the node", async () => {
  const before = await Promise.all([scrape(balancerUrl), scrape(nodeUrl)]);
  await call("oms.v1.AccountService/CreateAccount", { accountId: "m-poor" });
  // No cash: the node's decide refuses the order for buying power.
  const refused = await call(SUBMIT_ORDER, order("m-poor"));
  expect(refused.json["code"]).toBe("failed_precondition");
  const after = await Promise.all([scrape(balancerUrl), scrape(nodeUrl)]);
  const atBalancer = `oms_balancer_requests_total{method="${SUBMIT_ORDER}",code="failed_precondition"}`;
  const atNode = 'oms_node_commands_total{command="submit_order",outcome="failed_precondition"}';
  expect((sampleOf(after[0].text, atBalancer) ?? 0) - (sampleOf(before[0].text, atBalancer) ?? 0)).toBe(1);
  expect((sampleOf(after[1].text, atNode) ?? 0) - (sampleOf(before[1].text, atNode) ?? 0)).toBe(1);
});

test("a write refused at parse (an unknown symbol) is counted at the node as one refused at decide is", async () => {
  const atNode = 'oms_node_commands_total{command="submit_order",outcome="invalid_argument"}';
  const before = sampleOf((await scrape(nodeUrl)).text, atNode) ?? 0;
  const refused = await call(SUBMIT_ORDER, { ...order("m-1"), symbol: "NOPE" });
  expect(refused.json["code"]).toBe("invalid_argument");
  expect(sampleOf((await scrape(nodeUrl)).text, atNode)).toBe(before + 1);
});

test("a call served by connect-es (gRPC) is counted too, refusals by their code", async () => {
  const client = createClient(AccountService, createGrpcTransport({ baseUrl: balancerUrl, interceptors: [keyInterceptor(adminKey)] }));
  const series = 'oms_balancer_requests_total{method="oms.v1.AccountService/GetAccount",code="not_found"}';
  const before = sampleOf((await scrape(balancerUrl)).text, series) ?? 0;
  await expect(client.getAccount({ accountId: "m-nobody" })).rejects.toThrow("not found");
  expect(sampleOf((await scrape(balancerUrl)).text, series)).toBe(before + 1);
});

test("the node answers GET /metrics with its shards owned, their ledgers, its log and replay", async () => {
  await call("oms.v1.AccountService/CreateAccount", { accountId: "m-2" });
  await call("oms.v1.AccountService/Deposit", { accountId: "m-2", amount: "100" });
  await call(SUBMIT_ORDER, order("m-2"));
  const { status, text } = await scrape(nodeUrl);
  expect(status).toBe(200);
  for (const shard of SHARDS) {
    expect(sampleOf(text, `oms_shard_owned{shard="${shard}"}`)).toBe(1);
    expect(sampleOf(text, `oms_shard_epoch{shard="${shard}"}`)).toBeGreaterThanOrEqual(1);
    expect(sampleOf(text, `oms_replay_in_progress{shard="${shard}"}`)).toBe(0);
    // The epoch marker this start wrote is replayed, so every shard has read at least one record.
    expect(sampleOf(text, `oms_replay_records_total{shard="${shard}"}`)).toBeGreaterThanOrEqual(1);
  }
  const sumOver = (family: string) => SHARDS.reduce((sum, shard) => sum + (sampleOf(text, `${family}{shard="${shard}"}`) ?? 0), 0);
  // m-1, m-poor and m-2 from this file's tests; an open limit buy at $1 for each funded one.
  expect(sumOver("oms_shard_accounts")).toBe(3);
  expect(sumOver("oms_shard_open_orders")).toBe(2);
  expect(sampleOf(text, 'oms_node_commands_total{command="submit_order",outcome="accepted"}')).toBeGreaterThanOrEqual(2);
  expect(sampleOf(text, "oms_node_commit_duration_seconds_count")).toBeGreaterThanOrEqual(6);
  expect(sampleOf(text, 'oms_log_append_duration_seconds_count{log="sqlite"}')).toBeGreaterThanOrEqual(1);
  expect(sampleOf(text, 'oms_log_append_batch_records_sum{log="sqlite"}')).toBeGreaterThanOrEqual(6);
  const families = familiesOf(text);
  for (const family of ["oms_replay_remaining_records", "oms_snapshots_total", "oms_snapshot_duration_seconds", "oms_snapshot_size_bytes", "oms_event_loop_lag_seconds", "process_resident_memory_bytes"]) {
    expect(families).toContain(family);
  }
});

test("snapshots are counted with their duration and size", async () => {
  const before = sampleOf((await scrape(nodeUrl)).text, 'oms_snapshots_total{outcome="saved"}') ?? 0;
  await node.node.snapshotAll();
  const text = (await scrape(nodeUrl)).text;
  expect(sampleOf(text, 'oms_snapshots_total{outcome="saved"}')).toBe(before + SHARDS.length);
  expect(sampleOf(text, "oms_snapshot_size_bytes_count")).toBeGreaterThanOrEqual(SHARDS.length);
  expect(sampleOf(text, "oms_snapshot_duration_seconds_count")).toBeGreaterThanOrEqual(SHARDS.length);
});

test("/metrics is served over HTTP/2 as well, and other paths still reach connect-es", async () => {
  const session = http2.connect(nodeUrl);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ":method": "GET", ":path": "/metrics" });
      stream.on("response", (headers) => resolve(Number(headers[":status"])));
      stream.on("error", reject);
      stream.resume();
    });
    expect(status).toBe(200);
  } finally {
    session.close();
  }
  expect((await fetch(`${nodeUrl}/metrics/more`)).status).toBe(404);
});

/** A histogram series' _count by its family and one label, 0 if absent. */
function countOf(text: string, family: string, label: string, value: string): number {
  return sampleOf(text, `${family}_count{${label}="${value}"}`) ?? 0;
}

test("an order through the balancer is timed at every stage of its way, at the balancer and at the node", async () => {
  await call("oms.v1.AccountService/CreateAccount", { accountId: "m-stages" });
  await call("oms.v1.AccountService/Deposit", { accountId: "m-stages", amount: "100" });
  const nodeStages = ["queued", "decide", "batching", "durable", "handback", "reply"];
  const balancerStages = ["route", "link_queue", "node_round_trip", "answer"];
  const beforeNode = (await scrape(nodeUrl)).text;
  const beforeBalancer = (await scrape(balancerUrl)).text;
  expect((await call(SUBMIT_ORDER, order("m-stages"))).status).toBe(200);
  const afterNode = (await scrape(nodeUrl)).text;
  const afterBalancer = (await scrape(balancerUrl)).text;
  for (const stage of nodeStages) {
    // Each stage of the order's way counted once (the scrapes between are reads of nothing).
    expect([stage, countOf(afterNode, "oms_node_stage_seconds", "stage", stage) - countOf(beforeNode, "oms_node_stage_seconds", "stage", stage)]).toEqual([stage, 1]);
  }
  for (const stage of balancerStages) {
    expect([stage, countOf(afterBalancer, "oms_balancer_stage_seconds", "stage", stage) - countOf(beforeBalancer, "oms_balancer_stage_seconds", "stage", stage)]).toEqual([stage, 1]);
  }
  // The scrape itself is main-thread work, timed as a job on both processes' registries.
  expect(countOf(afterNode, "oms_main_thread_work_seconds", "job", "metrics_scrape")).toBeGreaterThan(0);
  expect(familiesOf(afterBalancer).has("oms_main_thread_work_seconds")).toBe(true);
});

test("a scrape never walks the heap, and event-loop lag is one histogram: prom-client's heap spaces and lag gauges are left out", async () => {
  for (const url of [nodeUrl, balancerUrl]) {
    const families = familiesOf((await scrape(url)).text);
    for (const family of ["nodejs_heap_space_size_used_bytes", "nodejs_eventloop_lag_p99_seconds"]) expect([family, families.has(family)]).toEqual([family, false]);
    for (const family of ["nodejs_heap_size_used_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total", "oms_event_loop_lag_seconds"]) expect([family, families.has(family)]).toEqual([family, true]);
  }
});
