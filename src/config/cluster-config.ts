// The shape of the cluster configuration and its defaults. One JSON file describes the whole
// cluster (every process reads the same one), so a balancer and its nodes never disagree
// about who owns which shard.

import type { LogLevel } from "../rpc/logger.ts";

/** Shards are the unit of ownership; more than this is a typo, not a deployment. */
export const SHARD_COUNT_MAX = 4096;

export interface NodeConfig {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The shards this node owns; every shard has exactly one owner. */
  readonly shards: readonly number[];
}

export interface ClusterConfig {
  readonly shardCount: number;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly balancer: {
    readonly host: string;
    readonly port: number;
    readonly healthIntervalMs: number;
    readonly callTimeoutMs: number;
    /**
     * Origins whose browser pages may call the balancer: "https://app.example.com",
     * "http://localhost:*" (any port) or "*". None by default: a page elsewhere is refused.
     */
    readonly corsOrigins: readonly string[];
  };
  readonly nodes: readonly NodeConfig[];
  readonly venue: {
    readonly seed: number;
    readonly tickMs: number;
    readonly sessionMs: number;
  };
  readonly snapshot: {
    readonly everyRecords: number;
  };
  /** How long closed orders stay in a node's memory, and how long its archive keeps them. */
  readonly orders: {
    /** Closed orders an account keeps in memory (and idempotent client order ids) at most. */
    readonly closedKeptMax: number;
    /** and for at most this long after they closed, by the commands' own times. */
    readonly closedKeptMs: number;
    /** The archive deletes orders closed this long before its newest (sizes its file). */
    readonly archiveKeptMs: number;
  };
  /** The write-ahead log on a Kafka-API cluster (Redpanda); no brokers means embedded SQLite. */
  readonly kafka: {
    /** Comma-separated host:port list; empty for the embedded log. */
    readonly brokers: string;
    /** One partition per shard; retention must outlive the oldest snapshot. */
    readonly topic: string;
    readonly clientId: string;
  };
  /** Snapshots and shard ownership in Postgres; an empty url means embedded SQLite. */
  readonly postgres: {
    readonly url: string;
    /** How long a starting node keeps retrying an unreachable Postgres before it gives up. */
    readonly connectRetryMs: number;
  };
  readonly node: {
    /** How long a shard claim lasts unless renewed; a crashed owner's shards wait this long. */
    readonly leaseMs: number;
    /** A command whose log write takes longer is answered UNAVAILABLE (its write goes on). */
    readonly ackTimeoutMs: number;
  };
}

/** Every setting but the node list, whose default depends on shardCount. */
export const CLUSTER_DEFAULTS: Omit<ClusterConfig, "nodes"> = {
  shardCount: 16,
  dataDir: "./data",
  logLevel: "info",
  balancer: { host: "127.0.0.1", port: 8080, healthIntervalMs: 1000, callTimeoutMs: 5000, corsOrigins: [] },
  venue: { seed: 42, tickMs: 100, sessionMs: 600_000 },
  snapshot: { everyRecords: 10_000 },
  orders: { closedKeptMax: 1000, closedKeptMs: 24 * 60 * 60 * 1000, archiveKeptMs: 90 * 24 * 60 * 60 * 1000 },
  kafka: { brokers: "", topic: "oms.wal", clientId: "oms" },
  postgres: { url: "", connectRetryMs: 60_000 },
  node: { leaseMs: 10_000, ackTimeoutMs: 3_000 },
};

const NODE_PORT_FIRST_DEFAULT = 9101;

/**
 * Two local nodes splitting the shards in halves (one node if there is one shard), so that
 * `oms dev` exercises routing between nodes out of the box.
 */
export function defaultNodes(shardCount: number): NodeConfig[] {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new Error(`config: default nodes need a positive shardCount, got ${shardCount}`);
  }
  const shards = Array.from({ length: shardCount }, (_, shard) => shard);
  const half = Math.ceil(shardCount / 2);
  const halves = shardCount === 1 ? [shards] : [shards.slice(0, half), shards.slice(half)];
  return halves.map((owned, index) => ({
    id: `node-${String.fromCharCode("a".charCodeAt(0) + index)}`,
    host: "127.0.0.1",
    port: NODE_PORT_FIRST_DEFAULT + index,
    shards: owned,
  }));
}
