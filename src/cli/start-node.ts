// `oms node`: one OMS node process with the embedded storage (SQLite) and the simulated venue,
// which runs on a thread of its own (venue/thread-venue.ts).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.ts";
import { clusterSecretOf, isMutualTls, nodeServerTls } from "../config/cluster-credentials.ts";
import { shardOf } from "../config/shard-of.ts";
import { listQuotesRoute } from "../node/list-quotes.ts";
import { executeCalls, nodeDoor, nodeServiceRoutes } from "../node/node-service.ts";
import { OmsNode, type OmsNodeOptions } from "../node/oms-node.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../rpc/health.ts";
import { registerReflection } from "../rpc/reflection.ts";
import { createLogger, type Logger } from "../rpc/logger.ts";
import { serveRpc, type RpcServer } from "../rpc/serve.ts";
import { CONNECTION_LIMITS_DEFAULT } from "../rpc/connection-limits.ts";
import { ThreadVenue } from "../venue/thread-venue.ts";
import type { Venue } from "../venue/venue.ts";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { openNodeStorage, type NodeStorage } from "./node-storage.ts";

export interface RunningNode {
  node: OmsNode;
  server: RpcServer;
  stop(): Promise<void>;
}

/** What the configuration says an OMS node starts with; the node benchmark starts its node so too. */
export function configuredNodeOptions(
  config: ClusterConfig,
  nodeId: string,
  shards: readonly number[],
  storage: NodeStorage,
  venue: Venue,
  logger: Logger,
): OmsNodeOptions {
  return {
    nodeId,
    shardCount: config.shardCount,
    shards,
    shardOf: (accountId) => shardOf(accountId, config.shardCount),
    log: storage.log,
    snapshots: storage.snapshots,
    claims: storage.claims,
    archive: storage.archive,
    closedOrders: { keptMax: config.orders.closedKeptMax, keptMs: config.orders.closedKeptMs },
    venue,
    logger,
    snapshotEveryRecords: config.snapshot.everyRecords,
    leaseMs: config.node.leaseMs,
    ackTimeoutMs: config.node.ackTimeoutMs,
  };
}

export async function startNode(config: ClusterConfig, nodeId: string): Promise<RunningNode> {
  const spec = config.nodes.find((n) => n.id === nodeId);
  if (spec === undefined) throw new Error(`config: no node with id "${nodeId}" (nodes: ${config.nodes.map((n) => n.id).join(", ")})`);
  const logger = createLogger({ level: config.logLevel, fields: { component: "node", node: nodeId } });
  // Before the data directory and storage: a node that must not serve opens nothing.
  const secret = clusterSecretOf(config);
  const tls = nodeServerTls(config);
  const door = nodeDoor(secret);
  if (secret === null && !isMutualTls(config) && !isLoopback(spec.host)) {
    throw new Error(`config: node ${nodeId} binds ${spec.host}, beyond this machine, with no cluster secret and no mutual TLS: anyone who reaches it could trade; set OMS_CLUSTER_SECRET (or cluster.secretFile, or cluster.tlsClientCertFile), or bind 127.0.0.1`);
  }
  const dir = join(config.dataDir, nodeId);
  mkdirSync(dir, { recursive: true });
  const unlock = await lockDataDir(dir);
  const storage = await openNodeStorage(config, nodeId, logger);
  const venue = await ThreadVenue.start({
    seed: config.venue.seed,
    tickMs: config.venue.tickMs,
    sessionMs: config.venue.sessionMs,
    // A broken venue invariant stops the node, as it did when the venue ran on this thread:
    // its fills could no longer be trusted. What the log has is safe; a restart reconciles.
    onFailure: (error) => {
      logger.error("stopping: the venue failed", { error: error.message, stack: error.stack ?? "" });
      process.exit(VENUE_FAILED_EXIT_CODE);
    },
  });
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.NOT_SERVING);
  const node = await OmsNode.start(configuredNodeOptions(config, nodeId, spec.shards, storage, venue, logger));
  const server = await serveRpc({
    host: spec.host,
    port: spec.port,
    logger,
    metrics: nodeMetrics.registry(),
    unaryCalls: executeCalls(node, () => Bun.randomUUIDv7()),
    ...(door === undefined ? {} : { admit: door }),
    ...(tls === undefined ? {} : { tls }),
    // The balancers' sessions to a node idle between calls and are held on purpose: no idle timeout here.
    limits: { ...CONNECTION_LIMITS_DEFAULT, idleTimeoutMs: 0 },
    routes: (router) => {
      nodeServiceRoutes(node)(router);
      listQuotesRoute(venue)(router);
      registerHealth(router, health);
      registerReflection(router);
    },
  });
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  logger.info("node serving", { port: server.port, shards: spec.shards.join(","), storage: storage.describe, door: secret === null ? "open (loopback)" : "cluster secret", tls: tls === undefined ? "off" : isMutualTls(config) ? "mutual" : "on" });
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      health.set(SERVER_HEALTH, ServingStatus.NOT_SERVING);
      await server.close();
      await node.close();
      // A snapshot at a clean stop makes the next start replay nothing.
      await node.snapshotAll();
      await node.release();
      await storage.close();
      unlock();
      logger.info("node stopped");
    })());
  return { node, server, stop };
}

/** The node's exit code for a failure of its own (as OmsNode's after a log failure): EX_SOFTWARE. */
const VENUE_FAILED_EXIT_CODE = 70;

/** Only this machine can reach an address in 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
