// Two nodes never both take writes for one shard. A second claimant waits for the holder's
// lease and gives up with a clear error while the holder is alive; once the holder hangs
// (SIGSTOP) its lease runs out, the second node takes the shard under a newer epoch with
// every acknowledged order, and the old holder, resumed, refuses to write.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { killNodeProcess, startNodeProcess, type NodeProcess } from "./node-process.ts";
import { nodeClient, nodeConfigOn, startBackends, type Backends } from "./production-backends.ts";

const SHARD_COUNT = 1;
const ACCOUNT = "fenced-acct";
const LEASE_MS = 1_500;
let backends: Backends;
const running: NodeProcess[] = [];

/** Starting Postgres on a loaded machine takes seconds; bun's 5 s default for hooks is too short. */
const BACKENDS_START_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  backends = await startBackends(SHARD_COUNT);
}, BACKENDS_START_TIMEOUT_MS);

afterAll(async () => {
  for (const node of running) {
    node.proc.kill("SIGCONT");
    await killNodeProcess(node);
  }
  await backends.stop();
});

const order = (clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "2", limitPrice: "1" },
  },
});

function submitted(result: NodeResult | undefined): string {
  if (result?.result.case !== "submitOrder") throw new Error(`submit refused: ${JSON.stringify(result?.result.value)}`);
  return result.result.value.order!.clientOrderId;
}

test("a second node cannot take a live node's shard; it takes it with every acknowledged order once the first hangs, and the first is fenced", async () => {
  const a = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: SHARD_COUNT, snapshotEveryRecords: 1000, node: { leaseMs: LEASE_MS } });
  const b = await nodeConfigOn(backends, { nodeId: "node-b", shardCount: SHARD_COUNT, snapshotEveryRecords: 1000, node: { leaseMs: LEASE_MS } });
  const nodeA = await startNodeProcess(a.path, "node-a", a.port);
  running.push(nodeA);
  const clientA = nodeClient(nodeA.url);
  await clientA.client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: ACCOUNT } } }, { command: { case: "deposit", value: { accountId: ACCOUNT, amount: "1000" } } }] });
  const acknowledged = [];
  for (const id of ["a-1", "a-2", "a-3"]) acknowledged.push(submitted((await clientA.client.execute({ commands: [order(id)] })).results[0]));

  // While node-a renews its lease, node-b's claim waits and then fails, naming the holder.
  const refused = await startNodeProcess(b.path, "node-b", b.port).then(
    (node) => {
      running.push(node);
      return "started";
    },
    (error: unknown) => String(error),
  );
  expect(refused).toContain("shard 0 is held by node-a");

  // node-a hangs: its lease runs out and node-b takes the shard.
  nodeA.proc.kill("SIGSTOP");
  const nodeB = await startNodeProcess(b.path, "node-b", b.port);
  running.push(nodeB);
  const clientB = nodeClient(nodeB.url);
  const listB = async () => {
    const listed = await clientB.client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL } } }] });
    const result = listed.results[0]!.result;
    if (result.case !== "listOrders") throw new Error("listOrders failed on node-b");
    return result.value.orders.map((o) => o.clientOrderId).sort();
  };
  expect(await listB()).toEqual(acknowledged.sort());
  submitted((await clientB.client.execute({ commands: [order("b-1")] })).results[0]);

  // node-a wakes up: whatever it is asked, it writes nothing more to the shard.
  nodeA.proc.kill("SIGCONT");
  const late = (await clientA.client.execute({ commands: [order("a-late")] })).results[0];
  expect(late?.result.case).toBe("error");
  if (late?.result.case === "error") expect(late.result.value.code).toBe(Code.Unavailable);
  expect(await listB()).toEqual(["a-1", "a-2", "a-3", "b-1"]);
  clientA.close();
  clientB.close();
}, 60_000);
