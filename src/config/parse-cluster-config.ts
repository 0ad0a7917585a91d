// Turns untrusted JSON (a file with environment overrides applied) into a ClusterConfig, or
// throws a ConfigError naming the field. Missing settings take their defaults; unknown keys
// are refused, because a misspelt setting silently left at its default is worse than a crash.

import { corsOriginProblem } from "../rpc/cors.ts";
import { isLogLevel, type LogLevel } from "../rpc/logger.ts";
import {
  CLUSTER_DEFAULTS, CLUSTER_SECRET_CHARS_MIN, SHARD_COUNT_MAX, defaultNodes, type ClusterConfig, type ClusterHopConfig, type KeyLimitsConfig, type NodeConfig,
} from "./cluster-config.ts";
import { ConfigError } from "./config-error.ts";

type JsonObject = Record<string, unknown>;

const PORT_MAX = 65_535;
// More connections than this would outrun any process's file descriptors; a typo, not a setting.
const CONNECTIONS_MAX_BOUND = 1_000_000;
// Node's timers fire at once past 2^31-1 ms; an hour is already far past any sane timeout.
const TIMEOUT_MS_BOUND = 3_600_000;


export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseClusterConfig(raw: unknown): ClusterConfig {
  const root = objectAt(raw, "(root)", ["shardCount", "dataDir", "logLevel", "balancer", "cluster", "nodes", "venue", "snapshot", "orders", "kafka", "postgres", "node", "auth"]);
  const d = CLUSTER_DEFAULTS;
  const shardCount = integerAt(root, "shardCount", "shardCount", d.shardCount, 1, SHARD_COUNT_MAX);
  const balancerRaw = objectAt(root["balancer"] ?? {}, "balancer", [
    "host", "port", "healthIntervalMs", "callTimeoutMs", "corsOrigins", "tlsCertFile", "tlsKeyFile", "connectionsMax", "headersTimeoutMs", "idleTimeoutMs",
  ]);
  const venueRaw = objectAt(root["venue"] ?? {}, "venue", ["seed", "tickMs", "sessionMs"]);
  const snapshotRaw = objectAt(root["snapshot"] ?? {}, "snapshot", ["everyRecords"]);
  const ordersRaw = objectAt(root["orders"] ?? {}, "orders", ["closedKeptMax", "closedKeptMs", "archiveKeptMs"]);
  const kafkaRaw = objectAt(root["kafka"] ?? {}, "kafka", ["brokers", "topic", "clientId"]);
  const postgresRaw = objectAt(root["postgres"] ?? {}, "postgres", ["url", "connectRetryMs"]);
  const nodeRaw = objectAt(root["node"] ?? {}, "node", ["leaseMs", "ackTimeoutMs"]);
  const authRaw = objectAt(root["auth"] ?? {}, "auth", ["keyPollMs", "account", "admin"]);
  const config: ClusterConfig = {
    shardCount,
    dataDir: stringAt(root, "dataDir", "dataDir", d.dataDir),
    logLevel: logLevelAt(root, d.logLevel),
    balancer: {
      host: stringAt(balancerRaw, "host", "balancer.host", d.balancer.host),
      port: integerAt(balancerRaw, "port", "balancer.port", d.balancer.port, 0, PORT_MAX),
      healthIntervalMs: positiveAt(balancerRaw, "healthIntervalMs", "balancer.healthIntervalMs", d.balancer.healthIntervalMs),
      callTimeoutMs: positiveAt(balancerRaw, "callTimeoutMs", "balancer.callTimeoutMs", d.balancer.callTimeoutMs),
      corsOrigins: corsOriginsAt(balancerRaw, d.balancer.corsOrigins),
      ...keyPairAt(balancerRaw, "balancer", "tlsCertFile", "tlsKeyFile"),
      connectionsMax: integerAt(balancerRaw, "connectionsMax", "balancer.connectionsMax", d.balancer.connectionsMax, 1, CONNECTIONS_MAX_BOUND),
      headersTimeoutMs: integerAt(balancerRaw, "headersTimeoutMs", "balancer.headersTimeoutMs", d.balancer.headersTimeoutMs, 1, TIMEOUT_MS_BOUND),
      idleTimeoutMs: integerAt(balancerRaw, "idleTimeoutMs", "balancer.idleTimeoutMs", d.balancer.idleTimeoutMs, 1, TIMEOUT_MS_BOUND),
    },
    cluster: clusterHopAt(root["cluster"] ?? {}),
    nodes: root["nodes"] === undefined ? defaultNodes(shardCount) : nodesAt(root["nodes"], shardCount),
    venue: {
      seed: integerAt(venueRaw, "seed", "venue.seed", d.venue.seed, 0, Number.MAX_SAFE_INTEGER),
      tickMs: positiveAt(venueRaw, "tickMs", "venue.tickMs", d.venue.tickMs),
      sessionMs: positiveAt(venueRaw, "sessionMs", "venue.sessionMs", d.venue.sessionMs),
    },
    snapshot: {
      everyRecords: positiveAt(snapshotRaw, "everyRecords", "snapshot.everyRecords", d.snapshot.everyRecords),
    },
    orders: {
      closedKeptMax: integerAt(ordersRaw, "closedKeptMax", "orders.closedKeptMax", d.orders.closedKeptMax, 0, Number.MAX_SAFE_INTEGER),
      closedKeptMs: integerAt(ordersRaw, "closedKeptMs", "orders.closedKeptMs", d.orders.closedKeptMs, 0, Number.MAX_SAFE_INTEGER),
      archiveKeptMs: positiveAt(ordersRaw, "archiveKeptMs", "orders.archiveKeptMs", d.orders.archiveKeptMs),
    },
    kafka: {
      brokers: brokersAt(kafkaRaw),
      topic: stringAt(kafkaRaw, "topic", "kafka.topic", d.kafka.topic),
      clientId: stringAt(kafkaRaw, "clientId", "kafka.clientId", d.kafka.clientId),
    },
    postgres: {
      url: postgresUrlAt(postgresRaw),
      connectRetryMs: integerAt(postgresRaw, "connectRetryMs", "postgres.connectRetryMs", d.postgres.connectRetryMs, 0, 3_600_000),
    },
    node: {
      leaseMs: integerAt(nodeRaw, "leaseMs", "node.leaseMs", d.node.leaseMs, 500, 600_000),
      ackTimeoutMs: positiveAt(nodeRaw, "ackTimeoutMs", "node.ackTimeoutMs", d.node.ackTimeoutMs),
    },
    auth: {
      // Revocation must reach every balancer within a second (issue 10).
      keyPollMs: integerAt(authRaw, "keyPollMs", "auth.keyPollMs", d.auth.keyPollMs, 10, 1_000),
      account: keyLimitsAt(authRaw, "account", d.auth.account),
      admin: keyLimitsAt(authRaw, "admin", d.auth.admin),
    },
  };
  checkAddressesDistinct(config);
  return config;
}

function keyLimitsAt(auth: JsonObject, scope: "account" | "admin", fallback: KeyLimitsConfig): KeyLimitsConfig {
  const raw = objectAt(auth[scope] ?? {}, `auth.${scope}`, ["callsPerSecond", "burst", "streamsMax", "connectionsMax"]);
  return {
    callsPerSecond: positiveAt(raw, "callsPerSecond", `auth.${scope}.callsPerSecond`, fallback.callsPerSecond),
    burst: positiveAt(raw, "burst", `auth.${scope}.burst`, fallback.burst),
    streamsMax: positiveAt(raw, "streamsMax", `auth.${scope}.streamsMax`, fallback.streamsMax),
    connectionsMax: positiveAt(raw, "connectionsMax", `auth.${scope}.connectionsMax`, fallback.connectionsMax),
  };
}

function nodesAt(raw: unknown, shardCount: number): NodeConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError("nodes", "must be a non-empty array of nodes");
  const ownerByShard = new Map<number, string>();
  const nodes = raw.map((nodeRaw: unknown, index): NodeConfig => {
    const where = `nodes[${index}]`;
    const node = objectAt(nodeRaw, where, ["id", "host", "port", "shards"]);
    const id = requiredString(node, "id", `${where}.id`);
    const previous = raw.slice(0, index).findIndex((other: unknown) => isJsonObject(other) && other["id"] === id);
    if (previous >= 0) throw new ConfigError(`${where}.id`, `"${id}" is already the id of nodes[${previous}]`);
    const shards = shardsAt(node["shards"], `${where}.shards`, id, shardCount, ownerByShard);
    const host = requiredString(node, "host", `${where}.host`);
    if (node["port"] === undefined) throw new ConfigError(`${where}.port`, "is required");
    return { id, host, port: integerAt(node, "port", `${where}.port`, 0, 0, PORT_MAX), shards };
  });
  const unowned = Array.from({ length: shardCount }, (_, shard) => shard).filter((shard) => !ownerByShard.has(shard));
  if (unowned.length > 0) throw new ConfigError("nodes", `shards ${unowned.join(", ")} are owned by no node`);
  return nodes;
}

function shardsAt(
  raw: unknown,
  where: string,
  nodeId: string,
  shardCount: number,
  ownerByShard: Map<number, string>,
): number[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(where, "must be a non-empty array of shard numbers");
  return raw.map((shard: unknown, index) => {
    const at = `${where}[${index}]`;
    if (typeof shard !== "number" || !Number.isInteger(shard)) throw new ConfigError(at, `${JSON.stringify(shard)} is not an integer`);
    if (shard < 0 || shard >= shardCount) throw new ConfigError(at, `shard ${shard} is outside 0..${shardCount - 1}`);
    const owner = ownerByShard.get(shard);
    if (owner !== undefined) throw new ConfigError(at, `shard ${shard} is already owned by ${owner}`);
    ownerByShard.set(shard, nodeId);
    return shard;
  });
}

// Two processes cannot listen on one address; port 0 means "pick one" and never collides.
function checkAddressesDistinct(config: ClusterConfig): void {
  const ownerByAddress = new Map<string, string>();
  const listeners = [{ where: "balancer", name: "the balancer", host: config.balancer.host, port: config.balancer.port }];
  config.nodes.forEach((node, index) => listeners.push({ where: `nodes[${index}]`, name: node.id, ...node }));
  for (const listener of listeners) {
    if (listener.port === 0) continue;
    const address = `${listener.host}:${listener.port}`;
    const owner = ownerByAddress.get(address);
    if (owner !== undefined) throw new ConfigError(listener.where, `${address} is already used by ${owner}`);
    ownerByAddress.set(address, listener.name);
  }
}

function objectAt(raw: unknown, where: string, known: readonly string[]): JsonObject {
  if (!isJsonObject(raw)) throw new ConfigError(where, "must be an object");
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  const first = unknown[0];
  if (first !== undefined) {
    const at = where === "(root)" ? first : `${where}.${first}`;
    throw new ConfigError(at, `unknown setting (known: ${known.join(", ")})`);
  }
  return raw;
}

function integerAt(object: JsonObject, key: string, where: string, fallback: number, min: number, max: number): number {
  const value = object[key] === undefined ? fallback : object[key];
  if (typeof value !== "number" || !Number.isInteger(value)) throw new ConfigError(where, `${JSON.stringify(value)} is not an integer`);
  if (value < min || value > max) throw new ConfigError(where, `${value} is outside ${min}..${max}`);
  return value;
}

function positiveAt(object: JsonObject, key: string, where: string, fallback: number): number {
  return integerAt(object, key, where, fallback, 1, Number.MAX_SAFE_INTEGER);
}

function stringAt(object: JsonObject, key: string, where: string, fallback: string): string {
  const value = object[key] === undefined ? fallback : object[key];
  if (typeof value !== "string" || value.length === 0) throw new ConfigError(where, `${JSON.stringify(value)} is not a non-empty string`);
  return value;
}

function optionalStringAt(object: JsonObject, key: string, where: string): string {
  const value = object[key] ?? "";
  if (typeof value !== "string") throw new ConfigError(where, `${JSON.stringify(value)} is not a string`);
  return value.trim();
}

function brokersAt(object: JsonObject): string {
  const text = optionalStringAt(object, "brokers", "kafka.brokers");
  if (text === "") return "";
  for (const broker of text.split(",")) {
    if (!/^[^\s:,]+:\d{1,5}$/.test(broker.trim())) throw new ConfigError("kafka.brokers", `"${broker}" is not host:port`);
  }
  return text;
}

function postgresUrlAt(object: JsonObject): string {
  const text = optionalStringAt(object, "url", "postgres.url");
  if (text !== "" && !/^postgres(ql)?:\/\//.test(text)) throw new ConfigError("postgres.url", "must start with postgres:// or postgresql://");
  return text;
}

function corsOriginsAt(object: JsonObject, fallback: readonly string[]): readonly string[] {
  const value = object["corsOrigins"] ?? fallback;
  if (!Array.isArray(value)) throw new ConfigError("balancer.corsOrigins", `${JSON.stringify(value)} is not an array of origins`);
  return value.map((entry: unknown, index) => {
    const where = `balancer.corsOrigins[${index}]`;
    if (typeof entry !== "string") throw new ConfigError(where, `${JSON.stringify(entry)} is not a string`);
    const problem = corsOriginProblem(entry);
    if (problem !== undefined) throw new ConfigError(where, problem);
    return entry;
  });
}

function clusterHopAt(raw: unknown): ClusterHopConfig {
  const object = objectAt(raw, "cluster", ["secret", "secretFile", "tlsCaFile", "tlsCertFile", "tlsKeyFile", "tlsClientCertFile", "tlsClientKeyFile"]);
  const secret = optionalStringAt(object, "secret", "cluster.secret");
  const secretFile = optionalStringAt(object, "secretFile", "cluster.secretFile");
  if (secret !== "" && secretFile !== "") throw new ConfigError("cluster.secret", "set either secret or secretFile, not both");
  if (secret !== "" && secret.length < CLUSTER_SECRET_CHARS_MIN) throw new ConfigError("cluster.secret", `must be at least ${CLUSTER_SECRET_CHARS_MIN} characters (e.g. openssl rand -hex 32)`);
  const hop: ClusterHopConfig = {
    secret,
    secretFile,
    tlsCaFile: optionalStringAt(object, "tlsCaFile", "cluster.tlsCaFile"),
    ...keyPairAt(object, "cluster", "tlsCertFile", "tlsKeyFile"),
    ...keyPairAt(object, "cluster", "tlsClientCertFile", "tlsClientKeyFile"),
  };
  // Without the CA the balancer could not check whom it talks to, nor a node its callers.
  if (hop.tlsCertFile !== "" && hop.tlsCaFile === "") throw new ConfigError("cluster.tlsCaFile", "is required with cluster.tlsCertFile (the balancer checks each node's certificate against it)");
  if (hop.tlsClientCertFile !== "" && hop.tlsCertFile === "") throw new ConfigError("cluster.tlsClientCertFile", "needs the node hop encrypted: set cluster.tlsCertFile and tlsKeyFile too");
  return hop;
}

/** A certificate and its key, both set or both empty. */
function keyPairAt<C extends string, K extends string>(object: JsonObject, section: string, certKey: C, keyKey: K): Record<C | K, string> {
  const cert = optionalStringAt(object, certKey, `${section}.${certKey}`);
  const key = optionalStringAt(object, keyKey, `${section}.${keyKey}`);
  if ((cert === "") !== (key === "")) throw new ConfigError(`${section}.${cert === "" ? certKey : keyKey}`, `is required with ${section}.${cert === "" ? keyKey : certKey}`);
  return { [certKey]: cert, [keyKey]: key } as Record<C | K, string>;
}

function requiredString(object: JsonObject, key: string, where: string): string {
  if (object[key] === undefined) throw new ConfigError(where, "is required");
  return stringAt(object, key, where, "");
}

function logLevelAt(object: JsonObject, fallback: LogLevel): LogLevel {
  const value = stringAt(object, "logLevel", "logLevel", fallback);
  if (!isLogLevel(value)) throw new ConfigError("logLevel", `"${value}" is not one of debug, info, warn, error`);
  return value;
}
