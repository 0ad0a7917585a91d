// The shape of the cluster configuration and its defaults. One JSON file describes the whole
// cluster (every process reads the same one), so a balancer and its nodes never disagree
// about who owns which shard.

import type { LogLevel } from "../rpc/logger.ts";

/** Shards are the unit of ownership; more than this is a typo, not a deployment. */
export const SHARD_COUNT_MAX = 4096;
/** A shared secret shorter than this could be guessed; `openssl rand -hex 32` gives 64. */
export const CLUSTER_SECRET_CHARS_MIN = 16;

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
    /** PEM files of the public port's certificate and key; both empty: plain HTTP. */
    readonly tlsCertFile: string;
    readonly tlsKeyFile: string;
    /** Open connections past this are closed at once (and counted): the balancer's file descriptors stay bounded. */
    readonly connectionsMax: number;
    /** An HTTP/1.1 request head, or an HTTP/2 preface, must arrive whole within this. */
    readonly headersTimeoutMs: number;
    /** A connection with no call in flight (HTTP/1.1 keep-alive, HTTP/2 with no open stream) is closed after this. */
    readonly idleTimeoutMs: number;
  };
  /** The balancer → node hop: who may call a node, and its encryption. */
  readonly cluster: ClusterHopConfig;
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
  /** API keys (src/auth): how fast revocations reach every balancer, and each key's limits by scope. */
  readonly auth: {
    /** Each balancer reads the key store's revision this often: a revoked key works at most this long. */
    readonly keyPollMs: number;
    readonly account: KeyLimitsConfig;
    readonly admin: KeyLimitsConfig;
  };
}

/** One scope's per-key limits (auth/key-limits.ts). */
export interface KeyLimitsConfig {
  readonly callsPerSecond: number;
  readonly burst: number;
  readonly streamsMax: number;
  readonly connectionsMax: number;
}

/**
 * Nodes take calls only from balancers: each call carries the cluster secret, or the balancer's
 * client certificate (mutual TLS), or both. Every file is PEM; an empty name means "not used".
 */
export interface ClusterHopConfig {
  /** Shared by balancers and nodes; OMS_CLUSTER_SECRET keeps it out of the file. */
  readonly secret: string;
  /** A file holding the secret (its surrounding whitespace ignored), instead of secret. */
  readonly secretFile: string;
  /** The CA that signed the nodes' certificates (the balancer checks them) and the balancers' client certificates. */
  readonly tlsCaFile: string;
  /** A node's certificate and key: set, the node hop is HTTPS. */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** The balancer's client certificate and key: set, nodes require a client certificate signed by tlsCaFile. */
  readonly tlsClientCertFile: string;
  readonly tlsClientKeyFile: string;
}

/** Every setting but the node list, whose default depends on shardCount. */
export const CLUSTER_DEFAULTS: Omit<ClusterConfig, "nodes"> = {
  shardCount: 16,
  dataDir: "./data",
  logLevel: "info",
  balancer: {
    host: "127.0.0.1",
    port: 8080,
    healthIntervalMs: 1000,
    callTimeoutMs: 5000,
    corsOrigins: [],
    tlsCertFile: "",
    tlsKeyFile: "",
    connectionsMax: 4096,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
  },
  cluster: { secret: "", secretFile: "", tlsCaFile: "", tlsCertFile: "", tlsKeyFile: "", tlsClientCertFile: "", tlsClientKeyFile: "" },
  venue: { seed: 42, tickMs: 100, sessionMs: 600_000 },
  snapshot: { everyRecords: 10_000 },
  orders: { closedKeptMax: 1000, closedKeptMs: 24 * 60 * 60 * 1000, archiveKeptMs: 90 * 24 * 60 * 60 * 1000 },
  kafka: { brokers: "", topic: "oms.wal", clientId: "oms" },
  postgres: { url: "", connectRetryMs: 60_000 },
  node: { leaseMs: 10_000, ackTimeoutMs: 3_000 },
  // An account key is one trading client: thousands of orders a second, a few streams. An admin
  // key also drives tools and load tests across many accounts, so its bounds are far higher.
  auth: {
    keyPollMs: 500,
    account: { callsPerSecond: 5_000, burst: 10_000, streamsMax: 16, connectionsMax: 64 },
    admin: { callsPerSecond: 1_000_000, burst: 1_000_000, streamsMax: 4_096, connectionsMax: 4_096 },
  },
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
