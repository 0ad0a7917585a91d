// The balancer process killed with SIGKILL under load, cycle after cycle (20 in the suite,
// OMS_FAULT_CYCLES in the long mode): the balancer holds nothing, so every order it
// acknowledged is on the node exactly as acknowledged, every order the kill cut off is whole or
// absent, the accounts hold exactly the present orders' cash, and a balancer restarted on the
// same port serves again. The node stays up: its own kill cycles are recovery.kill9.test.ts.
import { afterAll, expect, test } from "bun:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";
import { freePort } from "../e2e/dev-process.ts";
import {
  accountIds, checkRecovered, DEPOSIT_DOLLARS, execute, faultCycles, LIMIT_PRICE, QTY_SEED, xorshiftQty,
  type NodeClient, type Submitted,
} from "../node/kill9-scenario.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { issueClusterKey, keyHeaders } from "../support/api-keys.ts";
import { killNodeProcess, startBalancerProcess, startNodeProcess, withNodeOutput, writeNodeConfig, type NodeProcess } from "../node/node-process.ts";

const SHARD_COUNT = 2;
const SUITE_CYCLES = 20;
const CYCLES = faultCycles(SUITE_CYCLES);
/** SubmitOrder calls kept in flight through the balancer: its batches are with the node when the kill lands. */
const CALLS_IN_FLIGHT = 200;
const ACKS_BEFORE_KILL = 200;
/** The kill must cut calls off, not land between them. */
const CALLS_IN_FLIGHT_AT_KILL_MIN = 100;
/** Far above the time the node takes to decide a batch already received (a few ms). */
const NODE_SETTLE_MS = 250;
/** Bounds a round whose acknowledgements never come: it ends and fails. */
const ORDERS_PER_ROUND_MAX = 20_000;
/** Above the balancer's node call timeout (5 s), so the balancer answers first. */
const CALL_TIMEOUT_MS = 10_000;
/** Some 0.6 s a cycle on a quiet machine, and each cycle re-reads every earlier order. */
const TEST_TIMEOUT_MS = 30_000 + CYCLES * 5_000 + CYCLES * CYCLES * 100;

const dataDir = mkdtempSync(join(tmpdir(), "oms-balancer-kill9-"));
const running: NodeProcess[] = [];
afterAll(async () => {
  for (const proc of running) await killNodeProcess(proc);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The admin key every call to the balancer presents, issued into the cluster's store before the first balancer starts. */
let adminKey = "";

/** Every call to the balancer takes its headers from here. */
function balancerHeaders(): Record<string, string> {
  return keyHeaders(adminKey);
}

function nodeClient(url: string): { client: NodeClient; session: Http2SessionManager } {
  const session = new Http2SessionManager(url);
  return { client: createClient(NodeService, createNodeTransport(url, { session, timeoutMs: CALL_TIMEOUT_MS })), session };
}

/**
 * Keeps CALLS_IN_FLIGHT SubmitOrder calls going through the balancer until ACKS_BEFORE_KILL are
 * acknowledged, then SIGKILLs it. Returns how many calls the kill cut off and the failures seen before it.
 */
async function submitUntilBalancerKilled(balancer: NodeProcess, round: string, accounts: readonly string[], submitted: Submitted[], nextQty: () => bigint) {
  const session = new Http2SessionManager(balancer.url);
  const client: Client<typeof OrderService> = createClient(OrderService, createConnectTransport({ baseUrl: balancer.url, httpVersion: "2", sessionManager: session, defaultTimeoutMs: CALL_TIMEOUT_MS }));
  let killed = false;
  let acked = 0;
  let orders = 0;
  let callsInFlight = 0;
  let callsInFlightAtKill = 0;
  const failuresBeforeKill: string[] = [];
  const caller = async (): Promise<void> => {
    while (!killed && orders < ORDERS_PER_ROUND_MAX) {
      const index = orders++;
      const request = {
        accountId: accounts[index % accounts.length] ?? "", clientOrderId: `${round}-${index}`, symbol: "AAPL",
        side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: String(nextQty()), limitPrice: LIMIT_PRICE,
      };
      const order: Submitted = { request, acked: false, known: "unknown" };
      submitted.push(order);
      callsInFlight += 1;
      try {
        const answer = await client.submitOrder(request, { headers: balancerHeaders() });
        if (answer.order === undefined) throw new Error(`${request.clientOrderId}: answered without an order`);
        order.acked = true;
        order.known = answer.order;
        acked += 1;
      } catch (error) {
        if (!killed) failuresBeforeKill.push(`${request.clientOrderId}: ${String(error)}`);
        return;
      } finally {
        callsInFlight -= 1;
      }
      if (!killed && acked >= ACKS_BEFORE_KILL) {
        killed = true;
        callsInFlightAtKill = callsInFlight;
        balancer.proc.kill("SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, caller));
  await killNodeProcess(balancer);
  session.abort();
  return { failuresBeforeKill, callsInFlightAtKill, signal: balancer.proc.signalCode };
}

test(`the balancer killed with SIGKILL under load, ${CYCLES} times: every acknowledged order is on the node as acknowledged, no order in part, and it serves again`, async () => {
  const nodePort = await freePort();
  const balancerPort = await freePort();
  const configPath = writeNodeConfig({
    nodeId: "node-a", port: nodePort, shardCount: SHARD_COUNT, dataDir, snapshotEveryRecords: 1_000,
    extra: { balancer: { host: "127.0.0.1", port: balancerPort, healthIntervalMs: 200, callTimeoutMs: 5_000, corsOrigins: [] } },
  });
  adminKey = await issueClusterKey(loadClusterConfig(configPath, {}));
  const node = await startNodeProcess(configPath, "node-a", nodePort);
  running.push(node);
  const accounts = accountIds(SHARD_COUNT);
  const submitted: Submitted[] = [];
  const nextQty = xorshiftQty(QTY_SEED);
  const { client, session } = nodeClient(node.url);
  try {
    // Accounts are set up on the node itself: admin commands through the balancer are not what is under test.
    const funded = await execute(client, accounts.flatMap((accountId) => [
      { command: { case: "createAccount" as const, value: { accountId } } },
      { command: { case: "deposit" as const, value: { accountId, amount: String(DEPOSIT_DOLLARS) } } },
    ]));
    expect(funded.map((r) => r.result.case)).toEqual(accounts.flatMap(() => ["createAccount", "deposit"]));
    let acked = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const balancer = await startBalancerProcess(configPath, balancerPort);
      running.push(balancer);
      const round = await submitUntilBalancerKilled(balancer, `r${cycle}`, accounts, submitted, nextQty);
      expect({ cycle, failures: round.failuresBeforeKill, signal: round.signal }).toEqual({ cycle, failures: [], signal: "SIGKILL" });
      expect(round.callsInFlightAtKill).toBeGreaterThanOrEqual(CALLS_IN_FLIGHT_AT_KILL_MIN);
      // A batch the dead balancer sent whole may still be on its way through the node on another
      // connection; reading before it is decided would call its orders absent, and then present.
      await Bun.sleep(NODE_SETTLE_MS);
      await withNodeOutput(node, () => checkRecovered(client, accounts, submitted));
      const mine = submitted.filter((s) => s.request.clientOrderId.startsWith(`r${cycle}-`));
      expect(mine.filter((s) => s.acked).length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
      acked += mine.filter((s) => s.acked).length;
    }
    const lost = submitted.filter((s) => s.acked && typeof s.known !== "object").length;
    console.log(`balancer kill -9 under load: ${CYCLES} cycles, ${acked} orders acknowledged, ${lost} lost`);
    expect(lost).toBe(0);
  } finally {
    session.abort();
  }
}, TEST_TIMEOUT_MS);
