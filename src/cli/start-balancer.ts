// `oms balancer`: the stateless public endpoint. It knows the nodes from the configuration.
import type { Http2SessionManager } from "@connectrpc/connect-node";
import type { ClusterConfig } from "../config/cluster-config.ts";
import { shardOf } from "../config/shard-of.ts";
import { connectFastPath } from "../balancer/connect-fast-path.ts";
import { NodeLink } from "../balancer/node-link.ts";
import { publicServiceRoutes } from "../balancer/public-services.ts";
import { submitOrdersFastPath } from "../balancer/submit-orders-fast-path.ts";
import { RoutingTable } from "../balancer/routing-table.ts";
import { balancerMetrics } from "../metrics/balancer-metrics.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../rpc/health.ts";
import { createLogger } from "../rpc/logger.ts";
import { serveRpc, type RpcServer } from "../rpc/serve.ts";
import { createNodeSession, createNodeTransport } from "../rpc/transport.ts";

export interface RunningBalancer {
  server: RpcServer;
  /** Unary calls the balancer answered on its lean path rather than through connect-es. */
  fastPathAnswered(): number;
  /** SubmitOrders streams the balancer answered on its lean path rather than through connect-es. */
  fastPathStreams(): number;
  stop(): Promise<void>;
}

export async function startBalancer(
  config: ClusterConfig,
  portOverride?: number,
  /** Off only to compare the fast path with connect-es in tests. */
  options: { fastPath: boolean } = { fastPath: true },
): Promise<RunningBalancer> {
  const logger = createLogger({ level: config.logLevel, fields: { component: "balancer" } });
  const sessions: Http2SessionManager[] = [];
  const links = config.nodes.map((spec) => {
    const url = `http://${spec.host}:${spec.port}`;
    const session = createNodeSession(url);
    sessions.push(session);
    const transport = createNodeTransport(url, { timeoutMs: config.balancer.callTimeoutMs, session });
    return new NodeLink({ id: spec.id, url, shards: spec.shards }, transport, logger, config.balancer.callTimeoutMs);
  });
  const routing = new RoutingTable(config.shardCount, (accountId) => shardOf(accountId, config.shardCount), links);
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const fastPath = options.fastPath ? connectFastPath(routing, () => Bun.randomUUIDv7()) : null;
  const streamPath = options.fastPath ? submitOrdersFastPath((accountId, command) => routing.ownerOf(accountId).send(command)) : null;
  const server = await serveRpc({
    host: config.balancer.host,
    port: portOverride ?? config.balancer.port,
    logger,
    metrics: balancerMetrics.registry(),
    ...(fastPath === null ? {} : { fastPath }),
    ...(streamPath === null ? {} : { http2StreamPath: streamPath }),
    routes: (router) => {
      publicServiceRoutes(routing, () => Bun.randomUUIDv7())(router);
      registerHealth(router, health);
    },
  });
  for (const link of links) link.startHealthChecks(config.balancer.healthIntervalMs);
  logger.info("balancer serving", { port: server.port, nodes: config.nodes.map((n) => n.id).join(",") });
  return {
    server,
    fastPathAnswered: () => fastPath?.answered ?? 0,
    fastPathStreams: () => streamPath?.streams ?? 0,
    stop: async () => {
      for (const link of links) link.close();
      await server.close();
      for (const session of sessions) session.abort();
    },
  };
}
