import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";

const dir = mkdtempSync(join(tmpdir(), "oms-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNumber = 0;
function configFile(content: unknown): string {
  fileNumber += 1;
  const path = join(dir, `cluster-${fileNumber}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const twoNodes = [
  { id: "n1", host: "10.0.0.1", port: 9000, shards: [0, 1] },
  { id: "n2", host: "10.0.0.2", port: 9000, shards: [2, 3] },
];

const BALANCER_EDGE_DEFAULTS = { tlsCertFile: "", tlsKeyFile: "", connectionsMax: 4096, headersTimeoutMs: 10000, idleTimeoutMs: 60000 };

test("no path and no environment gives the documented defaults", () => {
  const config = loadClusterConfig(undefined, {});
  expect(config).toEqual({
    shardCount: 16,
    dataDir: "./data",
    logLevel: "info",
    balancer: { host: "127.0.0.1", port: 8080, healthIntervalMs: 1000, callTimeoutMs: 5000, corsOrigins: [], ...BALANCER_EDGE_DEFAULTS },
    cluster: { secret: "", secretFile: "", tlsCaFile: "", tlsCertFile: "", tlsKeyFile: "", tlsClientCertFile: "", tlsClientKeyFile: "" },
    nodes: [
      { id: "node-a", host: "127.0.0.1", port: 9101, shards: [0, 1, 2, 3, 4, 5, 6, 7] },
      { id: "node-b", host: "127.0.0.1", port: 9102, shards: [8, 9, 10, 11, 12, 13, 14, 15] },
    ],
    venue: { seed: 42, tickMs: 100, sessionMs: 600000 },
    snapshot: { everyRecords: 10000 },
    orders: { closedKeptMax: 1000, closedKeptMs: 86_400_000, archiveKeptMs: 7_776_000_000 },
    kafka: { brokers: "", topic: "oms.wal", clientId: "oms" },
    postgres: { url: "", connectRetryMs: 60000 },
    node: { leaseMs: 10000, ackTimeoutMs: 3000 },
    auth: {
      keyPollMs: 500,
      account: { callsPerSecond: 5000, burst: 10000, streamsMax: 16, connectionsMax: 64 },
      admin: { callsPerSecond: 1000000, burst: 1000000, streamsMax: 4096, connectionsMax: 4096 },
    },
  });
});

test("per-key limits are set per scope, by file or OMS_AUTH_*, and a revocation poll slower than a second is refused", () => {
  const config = loadClusterConfig(undefined, { OMS_AUTH_ACCOUNT_CALLS_PER_SECOND: "7", OMS_AUTH_ADMIN_STREAMS_MAX: "3" });
  expect([config.auth.account.callsPerSecond, config.auth.admin.streamsMax]).toEqual([7, 3]);
  expect(() => loadClusterConfig(undefined, { OMS_AUTH_KEY_POLL_MS: "5000" })).toThrow("auth.keyPollMs");
  expect(() => loadClusterConfig(undefined, { OMS_AUTH_ACCOUNT_BURST: "0" })).toThrow("auth.account.burst");
});

test("the production backends are set by OMS_KAFKA_BROKERS and OMS_POSTGRES_URL, and malformed ones are refused", () => {
  const config = loadClusterConfig(undefined, { OMS_KAFKA_BROKERS: "10.0.0.5:9092,10.0.0.6:9092", OMS_POSTGRES_URL: "postgres://oms@db/oms" });
  expect([config.kafka.brokers, config.postgres.url]).toEqual(["10.0.0.5:9092,10.0.0.6:9092", "postgres://oms@db/oms"]);
  expect(() => loadClusterConfig(undefined, { OMS_KAFKA_BROKERS: "nohostport" })).toThrow("kafka.brokers");
  expect(() => loadClusterConfig(undefined, { OMS_POSTGRES_URL: "mysql://x" })).toThrow("postgres.url");
});

test("oms.example.json loads and equals the defaults", () => {
  const example = loadClusterConfig(join(import.meta.dir, "../../oms.example.json"), {});
  expect(example).toEqual(loadClusterConfig(undefined, {}));
});

test("a file sets what it names and leaves the rest at defaults", () => {
  const config = loadClusterConfig(configFile({ shardCount: 4, balancer: { port: 7000 }, nodes: twoNodes }), {});
  expect(config.shardCount).toBe(4);
  expect(config.balancer).toEqual({ host: "127.0.0.1", port: 7000, healthIntervalMs: 1000, callTimeoutMs: 5000, corsOrigins: [], ...BALANCER_EDGE_DEFAULTS });
  expect(config.nodes.map((node) => node.id)).toEqual(["n1", "n2"]);
  expect(config.venue.seed).toBe(42);
});

test("OMS_ variables override the file, setting by setting", () => {
  const path = configFile({ shardCount: 4, nodes: twoNodes, venue: { seed: 1 } });
  const config = loadClusterConfig(path, {
    OMS_BALANCER_PORT: "8181",
    OMS_BALANCER_HOST: "0.0.0.0",
    OMS_BALANCER_HEALTH_INTERVAL_MS: "250",
    OMS_BALANCER_CALL_TIMEOUT_MS: "900",
    OMS_DATA_DIR: "/var/lib/oms",
    OMS_VENUE_SEED: "7",
    OMS_VENUE_TICK_MS: "5",
    OMS_VENUE_SESSION_MS: "60000",
    OMS_SNAPSHOT_EVERY_RECORDS: "500",
    OMS_LOG_LEVEL: "debug",
    OMS_BALANCER_CORS_ORIGINS: "https://app.example.com, http://localhost:*",
  });
  expect(config.balancer).toEqual({
    host: "0.0.0.0",
    port: 8181,
    healthIntervalMs: 250,
    callTimeoutMs: 900,
    corsOrigins: ["https://app.example.com", "http://localhost:*"],
    ...BALANCER_EDGE_DEFAULTS,
  });
  expect(config.dataDir).toBe("/var/lib/oms");
  expect(config.venue).toEqual({ seed: 7, tickMs: 5, sessionMs: 60000 });
  expect(config.snapshot.everyRecords).toBe(500);
  expect(config.logLevel).toBe("debug");
});

test("balancer.corsOrigins takes origins from the file, and OMS_BALANCER_CORS_ORIGINS replaces them (empty: none)", () => {
  const path = configFile({ balancer: { corsOrigins: ["https://app.example.com", "http://[::1]:*", "*"] } });
  expect(loadClusterConfig(path, {}).balancer.corsOrigins).toEqual(["https://app.example.com", "http://[::1]:*", "*"]);
  expect(loadClusterConfig(path, { OMS_BALANCER_CORS_ORIGINS: "https://b.example.com:8443" }).balancer.corsOrigins).toEqual([
    "https://b.example.com:8443",
  ]);
  expect(loadClusterConfig(path, { OMS_BALANCER_CORS_ORIGINS: "" }).balancer.corsOrigins).toEqual([]);
  expect(refusal(() => loadClusterConfig(undefined, { OMS_BALANCER_CORS_ORIGINS: "https://ok.example.com,ftp://x" }))).toBe(
    'config: balancer.corsOrigins[1]: "ftp://x" is not an http or https origin',
  );
});

test("OMS_SHARD_COUNT alone re-splits the default nodes; OMS_NODES replaces the node list", () => {
  expect(loadClusterConfig(undefined, { OMS_SHARD_COUNT: "4" }).nodes.map((node) => node.shards)).toEqual([
    [0, 1],
    [2, 3],
  ]);
  const single = loadClusterConfig(undefined, {
    OMS_SHARD_COUNT: "2",
    OMS_NODES: JSON.stringify([{ id: "solo", host: "127.0.0.1", port: 0, shards: [1, 0] }]),
  });
  expect(single.nodes).toEqual([{ id: "solo", host: "127.0.0.1", port: 0, shards: [1, 0] }]);
});

function refusal(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return "(loaded without error)";
}

const refusedFiles: Array<[string, unknown, string]> = [
  ["a shard outside the range", { shardCount: 16, nodes: [
    { id: "a", host: "h", port: 1, shards: [0, 1, 2, 3, 4, 5, 6, 7] },
    { id: "b", host: "h", port: 2, shards: [8, 9, 10, 40] },
  ] }, "config: nodes[1].shards[3]: shard 40 is outside 0..15"],
  ["a shard owned twice", { shardCount: 2, nodes: [
    { id: "a", host: "h", port: 1, shards: [0, 1] },
    { id: "b", host: "h", port: 2, shards: [1] },
  ] }, "config: nodes[1].shards[0]: shard 1 is already owned by a"],
  ["a shard owned by no node", { shardCount: 4, nodes: [{ id: "a", host: "h", port: 1, shards: [0, 2] }] },
    "config: nodes: shards 1, 3 are owned by no node"],
  ["a duplicate node id", { shardCount: 2, nodes: [
    { id: "a", host: "h", port: 1, shards: [0] },
    { id: "a", host: "h", port: 2, shards: [1] },
  ] }, 'config: nodes[1].id: "a" is already the id of nodes[0]'],
  ["a port above 65535", { balancer: { port: 70000 } }, "config: balancer.port: 70000 is outside 0..65535"],
  ["a negative node port", { shardCount: 1, nodes: [{ id: "a", host: "h", port: -1, shards: [0] }] },
    "config: nodes[0].port: -1 is outside 0..65535"],
  ["a zero where a positive integer is needed", { snapshot: { everyRecords: 0 } },
    "config: snapshot.everyRecords: 0 is outside 1..9007199254740991"],
  ["a fraction where an integer is needed", { venue: { tickMs: 1.5 } }, "config: venue.tickMs: 1.5 is not an integer"],
  ["a string where a number is needed", { shardCount: "16" }, 'config: shardCount: "16" is not an integer'],
  ["a shard count of zero", { shardCount: 0 }, "config: shardCount: 0 is outside 1..4096"],
  ["an unknown top-level key", { shardCont: 16 }, "config: shardCont: unknown setting"],
  ["an unknown nested key", { balancer: { prot: 1 } }, "config: balancer.prot: unknown setting"],
  ["an unknown node key", { shardCount: 1, nodes: [{ id: "a", host: "h", port: 1, shards: [0], weight: 2 }] },
    "config: nodes[0].weight: unknown setting"],
  ["a node without a port", { shardCount: 1, nodes: [{ id: "a", host: "h", shards: [0] }] }, "config: nodes[0].port: is required"],
  ["a node without shards", { shardCount: 1, nodes: [{ id: "a", host: "h", port: 1, shards: [] }] },
    "config: nodes[0].shards: must be a non-empty array of shard numbers"],
  ["an empty node list", { nodes: [] }, "config: nodes: must be a non-empty array of nodes"],
  ["an unknown log level", { logLevel: "verbose" }, 'config: logLevel: "verbose" is not one of debug, info, warn, error'],
  ["an empty data directory", { dataDir: "" }, 'config: dataDir: "" is not a non-empty string'],
  ["a section that is not an object", { venue: 3 }, "config: venue: must be an object"],
  ["allowed origins that are not a list", { balancer: { corsOrigins: "https://a.example.com" } },
    'config: balancer.corsOrigins: "https://a.example.com" is not an array of origins'],
  ["an allowed origin that is not a string", { balancer: { corsOrigins: [3] } }, "config: balancer.corsOrigins[0]: 3 is not a string"],
  ["an allowed origin with a path", { balancer: { corsOrigins: ["https://a.example.com/"] } },
    'config: balancer.corsOrigins[0]: "https://a.example.com/" is not an origin: no path, user or trailing slash (did you mean "https://a.example.com"?)'],
  ["an allowed origin that is not a URL", { balancer: { corsOrigins: ["localhost:3000"] } },
    'config: balancer.corsOrigins[0]: "localhost:3000" is not an http or https origin'],
  ["an allowed origin with a port and a port wildcard", { balancer: { corsOrigins: ["http://localhost:3000:*"] } },
    'config: balancer.corsOrigins[0]: "http://localhost:3000:*" has both a port and ":*"'],
  ["two nodes on one address", { shardCount: 2, nodes: [
    { id: "a", host: "h", port: 9, shards: [0] },
    { id: "b", host: "h", port: 9, shards: [1] },
  ] }, "config: nodes[1]: h:9 is already used by a"],
  ["a node on the balancer's address", { shardCount: 1, nodes: [{ id: "a", host: "127.0.0.1", port: 8080, shards: [0] }] },
    "config: nodes[0]: 127.0.0.1:8080 is already used by the balancer"],
];

for (const [what, content, message] of refusedFiles) {
  test(`refuses ${what}, naming the field`, () => {
    expect(refusal(() => loadClusterConfig(configFile(content), {}))).toStartWith(message);
  });
}

test("refuses a file that is missing, not JSON, or not an object, naming the file", () => {
  const missing = join(dir, "missing.json");
  expect(refusal(() => loadClusterConfig(missing, {}))).toStartWith(`config: ${missing}: cannot read:`);
  const broken = configFile("{ shardCount: 16");
  expect(refusal(() => loadClusterConfig(broken, {}))).toStartWith(`config: ${broken}: not valid JSON:`);
  const list = configFile([1, 2]);
  expect(refusal(() => loadClusterConfig(list, {}))).toBe(`config: ${list}: must hold a JSON object`);
});

test("refuses malformed environment overrides, naming the variable", () => {
  expect(refusal(() => loadClusterConfig(undefined, { OMS_BALANCER_PORT: "80a" }))).toBe(
    'config: OMS_BALANCER_PORT: "80a" is not an integer',
  );
  expect(refusal(() => loadClusterConfig(undefined, { OMS_VENUE_TICK_MS: "" }))).toBe(
    'config: OMS_VENUE_TICK_MS: "" is not an integer',
  );
  expect(refusal(() => loadClusterConfig(undefined, { OMS_NODES: "[{" }))).toStartWith("config: OMS_NODES: not valid JSON:");
  // An override is validated like the file: it cannot smuggle in what a file could not.
  expect(refusal(() => loadClusterConfig(undefined, { OMS_BALANCER_PORT: "65536" }))).toBe(
    "config: balancer.port: 65536 is outside 0..65535",
  );
});

test("the cluster secret comes from OMS_CLUSTER_SECRET, and a short one, or both secret and secretFile, are refused naming the field", () => {
  expect(loadClusterConfig(undefined, { OMS_CLUSTER_SECRET: "0123456789abcdef0123" }).cluster.secret).toBe("0123456789abcdef0123");
  expect(() => loadClusterConfig(undefined, { OMS_CLUSTER_SECRET: "short" })).toThrow("cluster.secret: must be at least 16 characters");
  expect(() => loadClusterConfig(undefined, { OMS_CLUSTER_SECRET: "0123456789abcdef0123", OMS_CLUSTER_SECRET_FILE: "/run/secret" })).toThrow("cluster.secret: set either");
});

test("TLS files come in pairs, and the node hop's certificate needs the CA that checks it", () => {
  expect(() => loadClusterConfig(undefined, { OMS_BALANCER_TLS_CERT_FILE: "/tls/edge.pem" })).toThrow("balancer.tlsKeyFile: is required with balancer.tlsCertFile");
  expect(() => loadClusterConfig(undefined, { OMS_CLUSTER_TLS_CERT_FILE: "/tls/node.pem", OMS_CLUSTER_TLS_KEY_FILE: "/tls/node.key" })).toThrow("cluster.tlsCaFile: is required");
  expect(() => loadClusterConfig(undefined, { OMS_CLUSTER_TLS_CLIENT_CERT_FILE: "/tls/b.pem", OMS_CLUSTER_TLS_CLIENT_KEY_FILE: "/tls/b.key" })).toThrow("cluster.tlsClientCertFile: needs the node hop encrypted");
  expect(() => loadClusterConfig(undefined, { OMS_BALANCER_CONNECTIONS_MAX: "0" })).toThrow("balancer.connectionsMax: 0 is outside");
});
