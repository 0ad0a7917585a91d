// A node on the production backends for tests: the write-ahead log on a Kafka-protocol broker
// (librdkafka's mock cluster, in this process) and snapshots and shard claims in a throwaway
// Postgres. Each test starts its own and stops them.
import { createClient, type Client } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import type { KafkaMockCluster } from "../../src/log/kafka-mock-cluster.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";
import { startKafkaMock } from "../support/kafka-mock.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { freePort } from "../e2e/dev-process.ts";
import { writeNodeConfig, type NodeProcessConfig } from "./node-process.ts";

export const TOPIC = "oms.wal";

export interface Backends {
  kafka: KafkaMockCluster;
  postgres: PostgresServer;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBackends(shardCount: number, brokers = 1): Promise<Backends> {
  const kafka = startKafkaMock({ brokers, topics: [{ name: TOPIC, partitions: shardCount }] });
  const postgres = await startPostgres();
  return {
    kafka,
    postgres,
    dataDir: mkdtempSync(join(tmpdir(), "oms-prod-")),
    stop: async () => {
      kafka.stop();
      await postgres.stop();
    },
  };
}

/** A config file for one node on these backends; returns its path and port. */
export async function nodeConfigOn(
  backends: Backends,
  options: Omit<NodeProcessConfig, "port" | "dataDir" | "extra"> & {
    node?: Record<string, number>;
    /** "info" for tests that read the node's log lines; "warn" when absent. */
    logLevel?: string;
    /** A directory of its own instead of the backends' one: the same node id as on another machine. */
    dataDir?: string;
  },
): Promise<{ path: string; port: number }> {
  const port = await freePort();
  const path = writeNodeConfig({
    ...options,
    port,
    dataDir: options.dataDir ?? backends.dataDir,
    fileName: `${options.nodeId}.json`,
    extra: {
      ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
      kafka: { brokers: backends.kafka.bootstrapServers, topic: TOPIC, clientId: "oms-test" },
      postgres: { url: backends.postgres.url, connectRetryMs: 20_000 },
      node: { leaseMs: 10_000, ackTimeoutMs: 1_000, ...options.node },
    },
  });
  return { path, port };
}

export function nodeClient(url: string): { client: Client<typeof NodeService>; close(): void } {
  const session = createNodeSession(url);
  return { client: createClient(NodeService, createNodeTransport(url, { session, timeoutMs: 10_000 })), close: () => session.abort() };
}
