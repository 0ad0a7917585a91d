// The broker going down makes the node answer UNAVAILABLE, never acknowledging what the log
// does not have; when the broker returns the node serves again without a restart, and
// nothing is lost or doubled, then or after a restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { killNodeProcess, startNodeProcess, withNodeOutput, type NodeProcess } from "./node-process.ts";
import { nodeClient, nodeConfigOn, startBackends, type Backends } from "./production-backends.ts";

const SHARD_COUNT = 2;
const ACCOUNT = "outage-acct";
let backends: Backends;
let node: NodeProcess;

/** Starting Postgres on a loaded machine takes seconds; bun's 5 s default for hooks is too short. */
const BACKENDS_START_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  backends = await startBackends(SHARD_COUNT);
}, BACKENDS_START_TIMEOUT_MS);

afterAll(async () => {
  if (node !== undefined) await killNodeProcess(node);
  await backends.stop();
});

const order = (clientOrderId: string) => ({
  case: "submitOrder" as const,
  value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" },
});

function outcome(result: NodeResult): { ok: true; id: string } | { ok: false; code: number; message: string } {
  if (result.result.case === "submitOrder") return { ok: true, id: result.result.value.order!.id };
  if (result.result.case === "error") return { ok: false, code: result.result.value.code, message: result.result.value.message };
  throw new Error(`unexpected result ${result.result.case}`);
}

test("broker down: UNAVAILABLE and nothing acknowledged; broker back: serving again without a restart, nothing lost or doubled", async () => {
  const { path, port } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: SHARD_COUNT, snapshotEveryRecords: 1000 });
  node = await startNodeProcess(path, "node-a", port);
  const { client, close } = nodeClient(node.url);
  const submit = async (clientOrderId: string) => outcome((await client.execute({ commands: [{ command: order(clientOrderId) }] })).results[0]!);

  await withNodeOutput(node, async () => {
    await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: ACCOUNT } } }] });
    await client.execute({ commands: [{ command: { case: "deposit", value: { accountId: ACCOUNT, amount: "100000" } } }] });
    const acknowledged = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const result = await submit(`before-${i}`);
      if (!result.ok) throw new Error(`refused before the outage: ${result.message}`);
      acknowledged.set(`before-${i}`, result.id);
    }

    backends.kafka.brokerDown(1);
    const during: string[] = [];
    let refusedAtOnce = 0;
    for (let i = 0; i < 20 && refusedAtOnce === 0; i++) {
      const clientOrderId = `during-${i}`;
      during.push(clientOrderId);
      const result = await submit(clientOrderId);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.code).toBe(Code.Unavailable);
        if (result.message.includes("not taking writes")) refusedAtOnce += 1;
      }
    }
    // After the first refusals the node knows the log is down and refuses before applying.
    expect(refusedAtOnce).toBe(1);

    backends.kafka.brokerUp(1);
    let after: ReturnType<typeof outcome> | null = null;
    for (let i = 0; i < 200 && (after === null || !after.ok); i++) {
      after = await submit("after-0");
      if (!after.ok) await Bun.sleep(100);
    }
    expect(after?.ok).toBe(true);
    if (after?.ok) acknowledged.set("after-0", after.id);

    // Resubmitting an order whose outcome was unknown gives exactly one order.
    for (const clientOrderId of during) {
      const again = await submit(clientOrderId);
      expect(again.ok).toBe(true);
      if (again.ok) acknowledged.set(clientOrderId, again.id);
    }
    const expectOrders = async () => {
      const listed = await client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageSize: 500 } } }] });
      const result = listed.results[0]!.result;
      if (result.case !== "listOrders") throw new Error(`listOrders failed: ${JSON.stringify(result.value)}`);
      const byClientId = new Map<string, string[]>();
      for (const o of result.value.orders) byClientId.set(o.clientOrderId, [...(byClientId.get(o.clientOrderId) ?? []), o.id]);
      expect(byClientId.size).toBe(acknowledged.size);
      for (const [clientOrderId, id] of acknowledged) expect(byClientId.get(clientOrderId)).toEqual([id]);
    };
    await expectOrders();

    close();
    await killNodeProcess(node);
    node = await startNodeProcess(path, "node-a", port);
    const reopened = nodeClient(node.url);
    const listed = await reopened.client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageSize: 500 } } }] });
    const result = listed.results[0]!.result;
    if (result.case !== "listOrders") throw new Error("listOrders failed after restart");
    expect(new Map(result.value.orders.map((o) => [o.clientOrderId, o.id]))).toEqual(acknowledged);
    reopened.close();
  });
}, 60_000);
