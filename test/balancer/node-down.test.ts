// The balancer never hangs on a node that is down: it answers UNAVAILABLE, and it serves the
// node's accounts again as soon as the node is back, without a restart.
import { afterAll, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { ADMIN, issueClusterKey } from "../support/api-keys.ts";
import { freePort } from "../e2e/dev-process.ts";

const running: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const r of running.reverse()) await r.stop();
});

async function clusterConfig(): Promise<ClusterConfig> {
  const base = loadClusterConfig(undefined, {});
  return {
    ...base,
    shardCount: 2,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-balancer-")),
    balancer: { ...base.balancer, port: 0, healthIntervalMs: 100, callTimeoutMs: 2000 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
}

async function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

test("a call for an account whose node is down gets UNAVAILABLE naming the node; when the node returns, calls succeed again", async () => {
  const config = await clusterConfig();
  const balancer: RunningBalancer = await startBalancer(config);
  running.push(balancer);
  const accounts = createClient(AccountService, createClientTransport(`http://127.0.0.1:${balancer.server.port}`, "connect", { apiKey: await issueClusterKey(config, ADMIN) }));

  const down = await errorOf(accounts.createAccount({ accountId: "acct-1" }));
  expect(down.code).toBe(Code.Unavailable);
  expect(down.rawMessage).toContain("node-a");

  const node: RunningNode = await startNode(config, "node-a");
  let created = null;
  for (let attempt = 0; attempt < 100 && created === null; attempt++) {
    created = await accounts.createAccount({ accountId: "acct-1" }).catch(() => null);
    if (created === null) await Bun.sleep(50);
  }
  expect(created?.account?.id).toBe("acct-1");

  await node.stop();
  const again = await errorOf(accounts.getAccount({ accountId: "acct-1" }));
  expect(again.code).toBe(Code.Unavailable);

  const back = await startNode(config, "node-a");
  running.push(back);
  let account = null;
  for (let attempt = 0; attempt < 100 && account === null; attempt++) {
    account = await accounts.getAccount({ accountId: "acct-1" }).catch(() => null);
    if (account === null) await Bun.sleep(50);
  }
  expect(account?.account?.id).toBe("acct-1");
});
