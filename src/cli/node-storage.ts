// Chooses a node's storage from the configuration: the embedded default (SQLite files under
// the data directory) or the production backends (the log on Kafka/Redpanda, snapshots and
// shard claims in Postgres). The node itself only knows the interfaces.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.ts";
import type { OrderArchive } from "../archive/order-archive.ts";
import { SqliteOrderArchive } from "../archive/sqlite-order-archive.ts";
import type { EventLog } from "../log/event-log.ts";
import { KafkaEventLog } from "../log/kafka-event-log.ts";
import { SqliteEventLog } from "../log/sqlite-event-log.ts";
import type { Logger } from "../rpc/logger.ts";
import { PostgresShardClaims } from "../snapshot/postgres-shard-claims.ts";
import { PostgresSnapshotStore } from "../snapshot/postgres-snapshot-store.ts";
import type { ShardClaims } from "../snapshot/shard-claims.ts";
import type { SnapshotStore } from "../snapshot/snapshot-store.ts";
import { SqliteShardClaims } from "../snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../snapshot/sqlite-snapshot-store.ts";

export interface NodeStorage {
  log: EventLog;
  snapshots: SnapshotStore;
  claims: ShardClaims;
  /** Closed orders evicted from memory: always a node-local SQLite file (derived data, rebuilt by replay). */
  archive: OrderArchive;
  describe: string;
  close(): Promise<void>;
}

export async function openNodeStorage(config: ClusterConfig, nodeId: string, logger: Logger): Promise<NodeStorage> {
  const dir = join(config.dataDir, nodeId);
  mkdirSync(dir, { recursive: true });
  const log = config.kafka.brokers === ""
    ? SqliteEventLog.open(join(dir, "wal.sqlite"), { writer: "thread" })
    : await KafkaEventLog.open({
        brokers: config.kafka.brokers.split(",").map((b) => b.trim()),
        topic: config.kafka.topic,
        clientId: `${config.kafka.clientId}-${nodeId}`,
        shardCount: config.shardCount,
        logger: logger.child({ part: "kafka" }),
      });
  let snapshots: SnapshotStore;
  let claims: ShardClaims;
  if (config.postgres.url === "") {
    snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
    claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  } else {
    const options = { logger: logger.child({ part: "postgres" }), retryForMs: config.postgres.connectRetryMs };
    snapshots = await PostgresSnapshotStore.open(config.postgres.url, options);
    claims = await PostgresShardClaims.open(config.postgres.url, options);
  }
  const archive = SqliteOrderArchive.open(join(dir, "archive.sqlite"), { keptMs: config.orders.archiveKeptMs });
  const describe = `log ${config.kafka.brokers === "" ? "sqlite" : `kafka ${config.kafka.topic}`}, snapshots ${config.postgres.url === "" ? "sqlite" : "postgres"}`;
  return {
    log,
    snapshots,
    claims,
    archive,
    describe,
    close: async () => {
      await archive.close();
      await log.close();
      await snapshots.close();
      await claims.close();
    },
  };
}
