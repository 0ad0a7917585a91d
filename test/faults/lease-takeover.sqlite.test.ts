// Taking shards back after a crash on the embedded storage. The claims file lives in the node's
// data directory, which one live process holds at a time (cli/data-dir-lock.ts), so:
// - restarted after SIGKILL, the node takes its shards back at once (it says so) although
//   their leases are a minute long, with every acknowledged order;
// - while the old process is paused (SIGSTOP) it still holds the directory, so a new one is
//   refused, naming it, and the old one, resumed, serves on with nothing lost.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { freePort } from "../e2e/dev-process.ts";
import { killNodeProcess, spawnNodeProcess, startNodeProcess, waitForServing, writeNodeConfig, type NodeProcess } from "../node/node-process.ts";
import { nodeClient } from "../node/production-backends.ts";

const SHARD_COUNT = 2;
const ACCOUNT = "sqlite-takeover-acct";
/** Waiting this out would outlast the node's start timeout: a restart that serves did not wait. */
const LONG_LEASE_MS = 60_000;
const TAKEN_BACK = "shard taken back without waiting out the lease";
/** The new process waits for the directory (15 s, cli/data-dir-lock.ts) before it gives up. */
const TEST_TIMEOUT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), "oms-sqlite-takeover-"));
const running: NodeProcess[] = [];
afterAll(async () => {
  for (const node of running) {
    node.proc.kill("SIGCONT");
    await killNodeProcess(node);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const order = (clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" },
  },
});

function acknowledged(result: NodeResult | undefined): string {
  if (result?.result.case !== "submitOrder") throw new Error(`submit refused: ${JSON.stringify(result?.result.value)}`);
  return result.result.value.order!.clientOrderId;
}

async function submit(url: string, id: string): Promise<string> {
  const { client, close } = nodeClient(url);
  try {
    return acknowledged((await client.execute({ commands: [order(id)] })).results[0]);
  } finally {
    close();
  }
}

async function listed(url: string): Promise<string[]> {
  const { client, close } = nodeClient(url);
  try {
    const answer = await client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageSize: 500 } } }] });
    const result = answer.results[0]?.result;
    if (result?.case !== "listOrders") throw new Error(`listOrders refused: ${JSON.stringify(result?.value)}`);
    return result.value.orders.map((o) => o.clientOrderId).sort();
  } finally {
    close();
  }
}

const linesTakenBack = (node: NodeProcess) => node.output().split("\n").filter((line) => line.includes(TAKEN_BACK)).length;

test("SQLite: after SIGKILL the restarted node takes every shard back at once; while the old one is paused a new one is refused, and the old one serves on", async () => {
  const port = await freePort();
  const configPath = writeNodeConfig({
    nodeId: "node-a", port, shardCount: SHARD_COUNT, dataDir, snapshotEveryRecords: 1000,
    extra: { logLevel: "info", node: { leaseMs: LONG_LEASE_MS, ackTimeoutMs: 5_000 } },
  });
  const first = await startNodeProcess(configPath, "node-a", port);
  running.push(first);
  const { client, close } = nodeClient(first.url);
  await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: ACCOUNT } } }, { command: { case: "deposit", value: { accountId: ACCOUNT, amount: "100000" } } }] });
  close();
  const acked = [await submit(first.url, "a-1"), await submit(first.url, "a-2")];
  expect(linesTakenBack(first)).toBe(0);
  await killNodeProcess(first);

  const restarted = await startNodeProcess(configPath, "node-a", port);
  running.push(restarted);
  expect(linesTakenBack(restarted)).toBe(SHARD_COUNT);
  expect(await listed(restarted.url)).toEqual(acked);

  restarted.proc.kill("SIGSTOP");
  const second = spawnNodeProcess(configPath, "node-a", port);
  running.push(second);
  const refusal = await waitForServing(second).then(() => "serving", (error: unknown) => String(error));
  expect(refusal).toContain(`is in use by process ${restarted.proc.pid}`);
  restarted.proc.kill("SIGCONT");
  acked.push(await submit(restarted.url, "a-3"));
  expect(await listed(restarted.url)).toEqual(acked);
}, TEST_TIMEOUT_MS);
