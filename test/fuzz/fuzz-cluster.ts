// The cluster a fuzz run calls: one balancer and one node in this process (two shards), with a
// "victim" account whose state no refused call may change, and a "playground" account where
// anything the fuzzer manages to get accepted may land.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { callerHeaders, type ApiKey } from "./request-headers.ts";

export const VICTIM_ACCOUNT = "fuzz-victim";
export const PLAYGROUND_ACCOUNT = "fuzz-playground";

export interface FuzzCluster {
  baseUrl: string;
  /** The key every well-behaved fuzz call carries (undefined until the cluster has keys). */
  key: ApiKey | undefined;
  balancer: RunningBalancer;
  node: RunningNode;
  stop(): Promise<void>;
}

export async function startFuzzCluster(): Promise<FuzzCluster> {
  const base = loadClusterConfig(undefined, {});
  const config: ClusterConfig = {
    ...base,
    shardCount: 2,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-fuzz-")),
    balancer: { ...base.balancer, port: 0 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  const node = await startNode(config, "node-a");
  const balancer = await startBalancer(config, 0);
  const baseUrl = `http://127.0.0.1:${balancer.server.port}`;
  const cluster: FuzzCluster = {
    baseUrl,
    key: await fuzzKeyOf(config),
    balancer,
    node,
    async stop() {
      await balancer.stop();
      await node.stop();
    },
  };
  for (const account of [VICTIM_ACCOUNT, PLAYGROUND_ACCOUNT]) {
    await setupCall(cluster, "AccountService/CreateAccount", { accountId: account });
    await setupCall(cluster, "AccountService/Deposit", { accountId: account, amount: "10000" });
    // A buy far below the market rests: the account has an open order for cancels and replaces to aim at.
    await setupCall(cluster, "OrderService/SubmitOrder", {
      accountId: account, clientOrderId: "resting-1", symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT",
      timeInForce: "TIME_IN_FORCE_GTC", qty: "1", limitPrice: "1.00",
    });
  }
  return cluster;
}

/**
 * The key the fuzzer's well-behaved calls carry: an admin key of this cluster once the balancer
 * checks keys (issued into the cluster's key store, with per-key limits raised in `config` so that
 * the fuzzer's pace is not refused RESOURCE_EXHAUSTED); none while it checks none. With a key,
 * the cases that send a missing, wrong or malformed one expect UNAUTHENTICATED.
 */
async function fuzzKeyOf(_config: ClusterConfig): Promise<ApiKey | undefined> {
  return undefined;
}

async function setupCall(cluster: FuzzCluster, method: string, body: unknown): Promise<void> {
  const response = await fetch(`${cluster.baseUrl}/oms.v1.${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...callerHeaders(cluster.key) },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`fuzz cluster setup: ${method} answered ${response.status}: ${await response.text()}`);
}
