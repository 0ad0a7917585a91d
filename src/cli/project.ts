// `oms project --config FILE`: keeps the SQL read model (accounts, orders, fills, positions) in
// the configured Postgres up to date with the write-ahead-log topic, exactly once, until
// SIGINT or SIGTERM. It can be killed at any moment and started again: it resumes from the
// offsets it committed with the rows.
import { loadClusterConfig } from "../config/load-cluster-config.ts";
import { startProjector } from "../projector/projector.ts";
import { kafkaClientFor } from "../projector/wal-consumer.ts";
import { createLogger } from "../rpc/logger.ts";
import { connectPostgres, endPostgres } from "../snapshot/postgres-connect.ts";
import { applyPostgresMigrations } from "../snapshot/postgres-migrations.ts";

const CONNECT_TIMEOUT_MS = 5_000;
/** The projector writes from one connection; the second serves its start-up reads meanwhile. */
const POSTGRES_CONNECTIONS_MAX = 2;

/** Resolves after a stop signal has stopped the projector; rejects on the first failure. */
export async function runProject(options: { config: string | undefined }): Promise<void> {
  const config = loadClusterConfig(options.config);
  if (config.postgres.url === "") throw new Error("oms project: postgres.url is not set (in the config file or OMS_POSTGRES_URL)");
  const logger = createLogger({ level: config.logLevel, fields: { part: "projector" } });
  const sql = await connectPostgres(config.postgres.url, {
    logger,
    retryForMs: config.postgres.connectRetryMs,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    maxConnections: POSTGRES_CONNECTIONS_MAX,
    applicationName: "oms-projector",
  });
  const stop = stopSignal();
  try {
    await applyPostgresMigrations(sql, logger);
    const projector = await startProjector({
      sql,
      kafka: kafkaClientFor(config.kafka.brokers, `${config.kafka.clientId}-projector`, logger),
      topic: config.kafka.topic,
      groupIdPrefix: `${config.kafka.clientId}-projector`,
      snapshotEveryRecords: config.snapshot.everyRecords,
      logger,
    });
    try {
      await Promise.race([projector.failed, stop.received]);
    } finally {
      await projector.stop();
    }
  } finally {
    stop.dispose();
    await endPostgres(sql);
  }
}

/** Resolves `received` on the first SIGINT or SIGTERM; dispose() stops listening. */
export function stopSignal(): { received: Promise<void>; dispose(): void } {
  let onSignal = () => {};
  const received = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  return {
    received,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
