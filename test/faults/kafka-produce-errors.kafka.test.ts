// Produce errors injected into the Kafka log's broker (librdkafka's mock cluster, in this
// process; the node is a real process): retriable errors, a leader that moved, broker-side
// timeouts, dropped connections, a slow broker past the node's ack deadline, and the broker
// down and up. Under each, every caller gets either its order or UNAVAILABLE, never another
// code and never an ack for what the log does not keep; afterwards nothing acknowledged is
// lost or doubled, a retry by client_order_id gives the one order, and a SIGKILL and restart
// show the same.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { killNodeProcess, startNodeProcess, withNodeOutput, type NodeProcess } from "../node/node-process.ts";
import { nodeClient, nodeConfigOn, startBackends, type Backends } from "../node/production-backends.ts";

const SHARD_COUNT = 2;
const ACCOUNT = "produce-errors-acct";
/** Kafka's ApiKey for Produce. */
const PRODUCE_API_KEY = 0;
/** Kafka protocol error codes (and librdkafka's _TRANSPORT, which drops the connection). */
const KAFKA_ERROR = {
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  TRANSPORT: -195,
} as const;
/** Failed Produce requests queued per fault: more than one, so retries meet errors too. */
const ERRORS_PER_FAULT = 4;
/** Orders sent at once under each fault. */
const ORDERS_PER_FAULT = 16;
/** The node's ack deadline: a slow broker must outlast it to be a fault at all. */
const ACK_TIMEOUT_MS = 1_000;
/** Above ACK_TIMEOUT_MS: every call then waits on the node's answer. */
const SLOW_BROKER_RTT_MS = 1_500;
/** After the faults, the log must take writes again within this many tries. */
const RECOVERY_TRIES_MAX = 200;
const RECOVERY_POLL_MS = 100;
const TEST_TIMEOUT_MS = 120_000;
const BACKENDS_START_TIMEOUT_MS = 60_000;

let backends: Backends;
let node: NodeProcess | null = null;

beforeAll(async () => {
  backends = await startBackends(SHARD_COUNT);
}, BACKENDS_START_TIMEOUT_MS);

afterAll(async () => {
  if (node !== null) await killNodeProcess(node);
  await backends.stop();
});

type Outcome = { ok: true; id: string } | { ok: false; code: Code; message: string };

const order = (clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" },
  },
});

function outcomeOf(result: NodeResult | undefined): Outcome {
  if (result?.result.case === "submitOrder") return { ok: true, id: result.result.value.order!.id };
  if (result?.result.case === "error") return { ok: false, code: result.result.value.code, message: result.result.value.message };
  throw new Error(`unexpected result ${JSON.stringify(result?.result)}`);
}

interface Fault {
  name: string;
  inject(): void;
  clear(): void;
}

const produceErrors = (name: keyof typeof KAFKA_ERROR): Fault => ({
  name,
  inject: () => backends.kafka.pushRequestErrors(PRODUCE_API_KEY, Array.from({ length: ERRORS_PER_FAULT }, () => KAFKA_ERROR[name])),
  clear: () => backends.kafka.clearRequestErrors(PRODUCE_API_KEY),
});

const FAULTS: Fault[] = [
  produceErrors("NOT_ENOUGH_REPLICAS"),
  produceErrors("NOT_ENOUGH_REPLICAS_AFTER_APPEND"),
  produceErrors("NOT_LEADER_OR_FOLLOWER"),
  produceErrors("LEADER_NOT_AVAILABLE"),
  produceErrors("REQUEST_TIMED_OUT"),
  produceErrors("TRANSPORT"),
  { name: "slow broker", inject: () => backends.kafka.setRtt(1, SLOW_BROKER_RTT_MS), clear: () => backends.kafka.setRtt(1, 0) },
  { name: "broker down", inject: () => backends.kafka.brokerDown(1), clear: () => backends.kafka.brokerUp(1) },
];

test("produce errors, a slow broker and a broker outage: only acks or UNAVAILABLE, and afterwards nothing acknowledged lost or doubled, before and after a SIGKILL", async () => {
  const { path, port } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: SHARD_COUNT, snapshotEveryRecords: 50, node: { ackTimeoutMs: ACK_TIMEOUT_MS } });
  const live = await startNodeProcess(path, "node-a", port);
  node = live;
  const { client, close } = nodeClient(live.url);
  const submit = async (clientOrderId: string) => outcomeOf((await client.execute({ commands: [order(clientOrderId)] })).results[0]);
  const acknowledged = new Map<string, string>();
  const unanswered: string[] = [];
  const codes = new Map<string, number>();

  await withNodeOutput(live, async () => {
    await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: ACCOUNT } } }, { command: { case: "deposit", value: { accountId: ACCOUNT, amount: "1000000" } } }] });
    for (const fault of FAULTS) {
      fault.inject();
      const ids = Array.from({ length: ORDERS_PER_FAULT }, (_, i) => `${fault.name.replaceAll(" ", "_")}-${i}`);
      const outcomes = await Promise.all(ids.map(submit));
      fault.clear();
      outcomes.forEach((outcome, i) => {
        const id = ids[i]!;
        if (outcome.ok) acknowledged.set(id, outcome.id);
        else unanswered.push(id);
        const code = outcome.ok ? "ok" : Code[outcome.code];
        codes.set(`${fault.name}: ${code}`, (codes.get(`${fault.name}: ${code}`) ?? 0) + 1);
      });
      // Serving again before the next fault, whatever this one did to the log.
      let probe: Outcome | null = null;
      for (let i = 0; i < RECOVERY_TRIES_MAX && (probe === null || !probe.ok); i++) {
        probe = await submit(`${fault.name.replaceAll(" ", "_")}-probe`);
        if (!probe.ok) await Bun.sleep(RECOVERY_POLL_MS);
      }
      expect({ fault: fault.name, recovered: probe?.ok }).toEqual({ fault: fault.name, recovered: true });
      if (probe?.ok) acknowledged.set(`${fault.name.replaceAll(" ", "_")}-probe`, probe.id);
    }
  });
  console.log(`kafka produce faults, outcomes: ${JSON.stringify(Object.fromEntries(codes))}`);
  // Every answer was an order or UNAVAILABLE: no INTERNAL, UNKNOWN or DEADLINE_EXCEEDED.
  expect([...codes.keys()].filter((key) => !key.endsWith(": ok") && !key.endsWith(": Unavailable"))).toEqual([]);

  // A retry of each refused order by its client_order_id gives exactly one order.
  for (const id of unanswered) {
    const again = await submit(id);
    expect({ id, ok: again.ok }).toEqual({ id, ok: true });
    if (again.ok) acknowledged.set(id, again.id);
  }
  await expectExactly(client, acknowledged);
  close();

  await killNodeProcess(live);
  const restarted = await startNodeProcess(path, "node-a", port);
  node = restarted;
  const reopened = nodeClient(restarted.url);
  try {
    await withNodeOutput(restarted, () => expectExactly(reopened.client, acknowledged));
  } finally {
    reopened.close();
  }
}, TEST_TIMEOUT_MS);

/** The account lists each acknowledged order once, under the id it was acknowledged with, and nothing else. */
async function expectExactly(client: ReturnType<typeof nodeClient>["client"], acknowledged: ReadonlyMap<string, string>): Promise<void> {
  const listed = await client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageSize: 500 } } }] });
  const result = listed.results[0]?.result;
  if (result?.case !== "listOrders") throw new Error(`listOrders refused: ${JSON.stringify(result?.value)}`);
  const ids = new Map<string, string[]>();
  for (const o of result.value.orders) ids.set(o.clientOrderId, [...(ids.get(o.clientOrderId) ?? []), o.id]);
  expect(Object.fromEntries(ids)).toEqual(Object.fromEntries([...acknowledged].map(([clientOrderId, id]) => [clientOrderId, [id]])));
}
