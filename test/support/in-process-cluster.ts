// What most balancer-level tests start: one node owning every shard and a balancer, both in this
// process as `oms node` and `oms balancer` start them, on free ports over a fresh data directory
// (the embedded SQLite log, snapshots and key store), with an admin key issued into the key store
// before the balancer reads it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { freePort } from "../e2e/dev-process.ts";
import { ADMIN, issueClusterKey } from "./api-keys.ts";

export interface InProcessCluster {
  readonly config: ClusterConfig;
  readonly node: RunningNode;
  readonly balancer: RunningBalancer;
  /** The balancer's `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** "ID:SECRET" of an admin key. */
  readonly adminKey: string;
  stop(): Promise<void>;
}

/** Two shards on one node "node-a"; `name` names the data directory (oms-NAME-…). */
export async function startInProcessCluster(name: string): Promise<InProcessCluster> {
  const base = loadClusterConfig(undefined, {});
  const config: ClusterConfig = {
    ...base,
    shardCount: 2,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), `oms-${name}-`)),
    balancer: { ...base.balancer, port: 0 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  const adminKey = await issueClusterKey(config, ADMIN);
  const node = await startNode(config, "node-a");
  const balancer = await startBalancer(config, 0);
  return {
    config,
    node,
    balancer,
    baseUrl: `http://127.0.0.1:${balancer.server.port}`,
    adminKey,
    async stop() {
      await balancer.stop();
      await node.stop();
    },
  };
}
