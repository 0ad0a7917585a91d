// `oms balancer`: the stateless public endpoint. It knows the nodes from the configuration.
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { adminServiceRoutes } from "../auth/admin-service.ts";
import { authInterceptor } from "../auth/auth-interceptor.ts";
import { CallGate } from "../auth/call-gate.ts";
import { KeyLimits } from "../auth/key-limits.ts";
import { KeyRing } from "../auth/key-ring.ts";
import { openKeyStore } from "../auth/open-key-store.ts";
import type { ClusterConfig } from "../config/cluster-config.ts";
import { shardOf } from "../config/shard-of.ts";
import { nodeHopOf, nodeUrlOf, publicServerTls } from "../config/cluster-credentials.ts";
import { assetServiceRoutes, type QuoteSource } from "../balancer/asset-service.ts";
import { connectUnaryCalls } from "../balancer/connect-unary-calls.ts";
import { NodeLink } from "../balancer/node-link.ts";
import { publicServiceRoutes } from "../balancer/public-services.ts";
import { refuseSubmitOrdersWithoutStream, submitOrdersStreams } from "../balancer/submit-orders-stream.ts";
import { RoutingTable } from "../balancer/routing-table.ts";
import { balancerMetrics } from "../metrics/balancer-metrics.ts";
import { corsOrigins } from "../rpc/cors.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../rpc/health.ts";
import { registerReflection } from "../rpc/reflection.ts";
import { createLogger } from "../rpc/logger.ts";
import { serveRpc, type RpcServer } from "../rpc/serve.ts";
import { createNodeSession, createNodeTransport } from "../rpc/transport.ts";

export interface RunningBalancer {
  server: RpcServer;
  /** Connect unary calls of the public methods answered (connect-unary-calls.ts). */
  connectUnaryAnswered(): number;
  /** SubmitOrders streams taken on HTTP/2 (submit-orders-stream.ts). */
  submitOrdersStreams(): number;
  /** The API keys this balancer knows (tests reload it instead of waiting for a poll). */
  keys: KeyRing;
  stop(): Promise<void>;
}

export async function startBalancer(config: ClusterConfig, portOverride?: number): Promise<RunningBalancer> {
  const logger = createLogger({ level: config.logLevel, fields: { component: "balancer" } });
  const sessions: Http2SessionManager[] = [];
  const quoteSources: QuoteSource[] = [];
  const hop = nodeHopOf(config);
  const tls = publicServerTls(config);
  const links = config.nodes.map((spec) => {
    const url = nodeUrlOf(config, spec);
    const session = createNodeSession(url, hop);
    sessions.push(session);
    // Every call to a node (Execute, trade-update streams, ListQuotes, health) carries the hop.
    const transport = createNodeTransport(url, { timeoutMs: config.balancer.callTimeoutMs, session, hop });
    const link = new NodeLink({ id: spec.id, url, shards: spec.shards }, transport, logger, config.balancer.callTimeoutMs, hop);
    quoteSources.push({ id: spec.id, transport, get healthy() { return link.healthy; } });
    return link;
  });
  const routing = new RoutingTable(config.shardCount, (accountId) => shardOf(accountId, config.shardCount), links);
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const keys = new KeyRing(await openKeyStore(config));
  await keys.refresh();
  keys.startPolling(config.auth.keyPollMs, (error) => logger.warn("api keys: the key store could not be read; the keys known stay in force", { error }));
  const gate = new CallGate(keys, new KeyLimits(config.auth));
  const auth = authInterceptor(gate);
  const connectUnary = connectUnaryCalls(routing, () => Bun.randomUUIDv7(), gate);
  const orderStreams = submitOrdersStreams((accountId, command) => routing.ownerOf(accountId).send(command), gate);
  const server = await serveRpc({
    host: config.balancer.host,
    port: portOverride ?? config.balancer.port,
    logger,
    metrics: balancerMetrics.registry(),
    cors: corsOrigins(config.balancer.corsOrigins),
    unaryCalls: (exchange) => connectUnary(exchange) || refuseSubmitOrdersWithoutStream(exchange),
    http2StreamPath: orderStreams,
    limits: { connectionsMax: config.balancer.connectionsMax, headersTimeoutMs: config.balancer.headersTimeoutMs, idleTimeoutMs: config.balancer.idleTimeoutMs },
    connectionClosed: (reason) => balancerMetrics.connectionClosed(reason),
    ...(tls === undefined ? {} : { tls }),
    routes: (router) => {
      publicServiceRoutes(routing, () => Bun.randomUUIDv7(), auth)(router);
      assetServiceRoutes(quoteSources, [auth])(router);
      adminServiceRoutes(keys, [auth])(router);
      registerHealth(router, health);
      registerReflection(router);
    },
  });
  balancerMetrics.countOpenConnections(() => server.connectionCounts().open);
  for (const link of links) link.startHealthChecks(config.balancer.healthIntervalMs);
  logger.info("balancer serving", { port: server.port, tls: tls !== undefined, nodes: config.nodes.map((n) => n.id).join(",") });
  return {
    server,
    connectUnaryAnswered: () => connectUnary.answered,
    submitOrdersStreams: () => orderStreams.streams,
    keys,
    stop: async () => {
      for (const link of links) link.close();
      keys.stop();
      await server.close();
      for (const session of sessions) session.abort();
      await keys.store.close();
    },
  };
}
