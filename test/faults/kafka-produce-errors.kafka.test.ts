// Produce errors injected into the Kafka log's broker (librdkafka's mock cluster, in this
// process; the node is a real process): retriable errors, a leader that moved, broker-side
// timeouts, dropped connections, a slow broker past the node's ack deadline, and the broker
// down and up. Under each, every caller gets either its order or UNAVAILABLE, never another
// code and never an ack for what the log does not keep; afterwards nothing acknowledged is
// lost or doubled, a retry by client_order_id gives the one order, and a SIGKILL and restart
// show the same. An error no resend can cure stops the node (its memory may be ahead of the
// log) without acknowledging the batch, and a restart recovers exactly what was acknowledged.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
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
  /** Not retriable: no resend will ever succeed. */
  TOPIC_AUTHORIZATION_FAILED: 29,
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
/** The node's exit code when its ledger can no longer be trusted (sysexits EX_SOFTWARE; oms-node.ts). */
const EXIT_SOFTWARE = 70;
const BACKENDS_START_TIMEOUT_MS = 60_000;

let backends: Backends;
let node: NodeProcess | null = null;

beforeAll(async () => {
  backends = await startBackends(SHARD_COUNT);
}, BACKENDS_START_TIMEOUT_MS);

/** The shards are the same from test to test: each test's node goes with it. */
afterEach(async () => {
  if (node !== null) await killNodeProcess(node);
  node = null;
  backends.kafka.clearRequestErrors(PRODUCE_API_KEY);
});

afterAll(async () => {
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

test("a produce error no resend cures stops the node without acknowledging the batch; a restart has every acknowledged order once, and no other", async () => {
  const { path, port } = await nodeConfigOn(backends, { nodeId: "node-b", shardCount: SHARD_COUNT, snapshotEveryRecords: 50, node: { ackTimeoutMs: ACK_TIMEOUT_MS } });
  const live = await startNodeProcess(path, "node-b", port);
  node = live;
  const { client, close } = nodeClient(live.url);
  const account = "fatal-acct";
  const submit = (clientOrderId: string): Promise<Outcome | "cut off"> =>
    client.execute({ commands: [{ command: { ...order(clientOrderId).command, value: { ...order(clientOrderId).command.value, accountId: account } } }] }).then(
      (answer) => outcomeOf(answer.results[0]),
      () => "cut off",
    );
  await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: account } } }, { command: { case: "deposit", value: { accountId: account, amount: "1000000" } } }] });
  const before = await Promise.all(["before-0", "before-1"].map(submit));
  const acknowledged = new Map<string, string>();
  before.forEach((outcome, i) => {
    if (outcome !== "cut off" && outcome.ok) acknowledged.set(`before-${i}`, outcome.id);
  });
  expect(acknowledged.size).toBe(2);

  backends.kafka.pushRequestErrors(PRODUCE_API_KEY, [KAFKA_ERROR.TOPIC_AUTHORIZATION_FAILED]);
  const during = await Promise.all(Array.from({ length: ORDERS_PER_FAULT }, (_, i) => submit(`during-${i}`)));
  close();
  await live.proc.exited;
  backends.kafka.clearRequestErrors(PRODUCE_API_KEY);
  // Nothing of the failed batch was acknowledged, and the node said why it stopped.
  expect(during.filter((outcome) => outcome !== "cut off" && outcome.ok)).toEqual([]);
  expect({ exitCode: live.proc.exitCode, said: live.output().includes("TOPIC_AUTHORIZATION_FAILED") }).toEqual({ exitCode: EXIT_SOFTWARE, said: true });

  const restarted = await startNodeProcess(path, "node-b", port);
  node = restarted;
  const reopened = nodeClient(restarted.url);
  try {
    const listed = await reopened.client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: account, status: OrderStatusFilter.ALL, pageSize: 500 } } }] });
    const result = listed.results[0]?.result;
    if (result?.case !== "listOrders") throw new Error(`listOrders refused: ${JSON.stringify(result?.value)}`);
    // The refused batch never reached the log: exactly the acknowledged orders.
    expect(Object.fromEntries(result.value.orders.map((o) => [o.clientOrderId, o.id]))).toEqual(Object.fromEntries(acknowledged));
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
