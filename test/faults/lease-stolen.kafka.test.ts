// A node that loses its shards while serving: the claim rows are taken from under it (as an
// operator's mistake or a second claimant past an expired lease would). At its next renewal it
// learns it is fenced and writes nothing more; everything it acknowledged before is in the log,
// so the next owner's state is exactly the acknowledged history: every acked order, none that
// it refused before writing, and, of the writes that were in the log when it learned it was
// fenced (answered UNAVAILABLE "outcome is unknown"), exactly what a retry by client_order_id
// at the next owner then shows, once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import postgres from "postgres";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { killNodeProcess, startNodeProcess, withNodeOutput, type NodeProcess } from "../node/node-process.ts";
import { accountIds } from "../node/kill9-scenario.ts";
import { nodeClient, nodeConfigOn, startBackends, type Backends } from "../node/production-backends.ts";

const SHARD_COUNT = 2;
/** Short, so that the victim's next renewal (every third of it) comes soon after the theft. */
const LEASE_MS = 1_500;
const CALLERS = 8;
/** Bounds the load: a node that is never fenced fails the test instead of running on. */
const ORDERS_MAX = 5_000;
/** Orders acknowledged before the theft, so there is a history to keep. */
const ACKS_BEFORE_THEFT = 100;
const TEST_TIMEOUT_MS = 60_000;
const BACKENDS_START_TIMEOUT_MS = 60_000;

let backends: Backends;
const running: NodeProcess[] = [];

beforeAll(async () => {
  backends = await startBackends(SHARD_COUNT);
}, BACKENDS_START_TIMEOUT_MS);

afterAll(async () => {
  for (const node of running) await killNodeProcess(node);
  await backends.stop();
});

/** Accounts on every shard, so every shard is written and every shard's fencing is seen. */
const ACCOUNTS = accountIds(SHARD_COUNT);
const TAKEN_OVER = /shard (\d+) was taken over/;

const order = (accountId: string, clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" },
  },
});

type Outcome = { ok: true; id: string } | { ok: false; code: Code; message: string };

function outcomeOf(result: NodeResult | undefined): Outcome {
  if (result?.result.case === "submitOrder") return { ok: true, id: result.result.value.order!.id };
  if (result?.result.case === "error") return { ok: false, code: result.result.value.code, message: result.result.value.message };
  throw new Error(`unexpected result ${JSON.stringify(result?.result)}`);
}

/** Every shard's row handed to another owner under a newer epoch, its lease already over. */
async function stealEveryShard(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, idle_timeout: 1, connect_timeout: 5, fetch_types: false, prepare: false, onnotice: () => undefined });
  try {
    const stolen = await sql`update shard_owners set owner = 'thief', epoch = epoch + 1, lease_expires_at = clock_timestamp()`;
    return stolen.count;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

test("a node whose claims are taken while it serves is fenced at its next renewal; the next owner has exactly what it acknowledged", async () => {
  const victimConfig = await nodeConfigOn(backends, { nodeId: "victim", shardCount: SHARD_COUNT, snapshotEveryRecords: 100, node: { leaseMs: LEASE_MS } });
  const heirConfig = await nodeConfigOn(backends, { nodeId: "heir", shardCount: SHARD_COUNT, snapshotEveryRecords: 100, node: { leaseMs: LEASE_MS } });
  const victim = await startNodeProcess(victimConfig.path, "victim", victimConfig.port);
  running.push(victim);
  const { client, close } = nodeClient(victim.url);
  const acknowledged = new Map<string, string>();
  const refusals = new Map<string, number>();
  const refused = new Map<string, string>();
  let stolen: Promise<number> | null = null;
  const fencedShards = new Set<string>();
  let sent = 0;

  await withNodeOutput(victim, async () => {
    await client.execute({ commands: ACCOUNTS.flatMap((accountId) => [
      { command: { case: "createAccount" as const, value: { accountId } } },
      { command: { case: "deposit" as const, value: { accountId, amount: "1000000" } } },
    ]) });
    const caller = async (): Promise<void> => {
      while (fencedShards.size < SHARD_COUNT && sent < ORDERS_MAX) {
        const index = sent++;
        const accountId = ACCOUNTS[index % ACCOUNTS.length]!;
        const clientOrderId = `o-${index}`;
        const outcome = outcomeOf((await client.execute({ commands: [order(accountId, clientOrderId)] })).results[0]);
        if (outcome.ok) acknowledged.set(clientOrderId, outcome.id);
        else {
          refused.set(clientOrderId, outcome.message);
          const kind = `${Code[outcome.code]}: ${outcome.message.replace(/shard \d+/, "shard N")}`;
          refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
          const fenced = TAKEN_OVER.exec(outcome.message)?.[1];
          if (fenced !== undefined) fencedShards.add(fenced);
        }
        if (stolen === null && acknowledged.size >= ACKS_BEFORE_THEFT) stolen = stealEveryShard(backends.postgres.url);
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
  });
  expect(await (stolen ?? Promise.resolve(0))).toBe(SHARD_COUNT);
  console.log(`lease stolen while serving: ${acknowledged.size} acknowledged, refusals ${JSON.stringify(Object.fromEntries(refusals))}`);
  // Only UNAVAILABLE refusals, each saying why the node does not take the write.
  expect([...refusals.keys()].filter((kind) => !kind.startsWith("Unavailable: "))).toEqual([]);
  expect(fencedShards.size).toBe(SHARD_COUNT);

  const heir = await startNodeProcess(heirConfig.path, "heir", heirConfig.port);
  running.push(heir);
  const heirClient = nodeClient(heir.url);
  try {
    // The fenced node, asked again, still writes nothing.
    const late = outcomeOf((await client.execute({ commands: [order(ACCOUNTS[0]!, "late")] })).results[0]);
    expect(late.ok ? "acknowledged" : Code[late.code]).toBe("Unavailable");
    const present = new Map<string, string>();
    for (const accountId of ACCOUNTS) {
      let pageToken = "";
      do {
        const answer = await heirClient.client.execute({ commands: [{ command: { case: "listOrders", value: { accountId, status: OrderStatusFilter.ALL, pageSize: 500, pageToken } } }] });
        const result = answer.results[0]?.result;
        if (result?.case !== "listOrders") throw new Error(`listOrders refused: ${JSON.stringify(result?.value)}`);
        for (const o of result.value.orders) present.set(o.clientOrderId, o.id);
        pageToken = result.value.nextPageToken;
      } while (pageToken !== "");
    }
    // Refused before writing: absent. In doubt: present or not, as the heir decided; a retry says which, and gives that one order.
    const inDoubt = [...refused].filter(([, message]) => message.includes("outcome is unknown")).map(([id]) => id);
    const refusedOutright = [...refused.keys()].filter((id) => !inDoubt.includes(id));
    expect(refusedOutright.filter((id) => present.has(id))).toEqual([]);
    for (const id of inDoubt) {
      const accountId = ACCOUNTS[Number(id.slice("o-".length)) % ACCOUNTS.length]!;
      const retried = outcomeOf((await heirClient.client.execute({ commands: [order(accountId, id)] })).results[0]);
      if (!retried.ok) throw new Error(`${id}: retry at the heir refused: ${retried.message}`);
      if (present.has(id)) expect({ id, order: retried.id }).toEqual({ id, order: present.get(id)! });
      acknowledged.set(id, retried.id);
    }
    const inDoubtPresent = inDoubt.filter((id) => present.has(id)).length;
    console.log(`lease stolen: ${inDoubt.length} in doubt (${inDoubtPresent} recorded, ${inDoubt.length - inDoubtPresent} not), ${refusedOutright.length} refused before writing`);
    for (const id of inDoubt) if (!present.has(id)) present.set(id, acknowledged.get(id)!);
    expect(Object.fromEntries([...present].sort())).toEqual(Object.fromEntries([...acknowledged].sort()));
  } finally {
    heirClient.close();
    close();
  }
}, TEST_TIMEOUT_MS);
