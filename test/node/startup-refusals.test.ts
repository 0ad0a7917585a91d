// A node refuses to start, with a clear message and no stack trace, when its storage cannot
// be trusted or reached: Postgres unreachable (after retrying), a snapshot newer than the
// log, a topic without a partition for every shard. Postgres that comes up while the node
// retries is used.
import { afterAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { readFileSync, writeFileSync } from "node:fs";
import { NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";
import { startPostgres } from "../support/postgres.ts";
import { freePort } from "../e2e/dev-process.ts";
import { killNodeProcess, spawnNodeProcess, startNodeProcess, waitForOutput, waitForServing } from "./node-process.ts";
import { nodeConfigOn, startBackends, type Backends } from "./production-backends.ts";

const started: Backends[] = [];
/** Each test starts its own Postgres and Kafka mock; stopping them all takes seconds on a busy machine. */
const STOP_BACKENDS_TIMEOUT_MS = 60_000;
afterAll(async () => {
  await Promise.all(started.map((backends) => backends.stop()));
}, STOP_BACKENDS_TIMEOUT_MS);

async function backendsFor(shardCount: number): Promise<Backends> {
  const backends = await startBackends(shardCount);
  started.push(backends);
  return backends;
}

/** Runs `oms node` to its exit; returns the exit code and everything it printed. */
async function runToExit(path: string, nodeId: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", "node", "--config", path, "--node-id", nodeId], {
    cwd: `${import.meta.dir}/../..`,
    stdout: "pipe",
    stderr: "pipe",
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_"))),
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

type ConfigJson = Record<string, any>;

function rewrite(path: string, change: (config: ConfigJson) => void): void {
  const config = JSON.parse(readFileSync(path, "utf8")) as ConfigJson;
  change(config);
  writeFileSync(path, JSON.stringify(config));
}

test("Postgres unreachable at start: the node retries with one clear line each time, then exits with a clear error and no stack trace", async () => {
  const backends = await backendsFor(2);
  const { path } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: 2, snapshotEveryRecords: 1000 });
  const deadPort = await freePort();
  rewrite(path, (config) => (config.postgres = { url: `postgres://postgres@127.0.0.1:${deadPort}/oms`, connectRetryMs: 1500 }));
  const { code, output } = await runToExit(path, "node-a");
  expect(code).not.toBe(0);
  expect(output).toContain(`postgres unreachable at 127.0.0.1:${deadPort}, retrying`);
  expect(output).toContain("gave up");
  expect(output).not.toMatch(/^\s+at .*\.ts:\d+/m);
}, 60_000);

test("Postgres that comes up while the node retries is used: the node starts and serves", async () => {
  const backends = await backendsFor(2);
  const { path, port } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: 2, snapshotEveryRecords: 1000 });
  const laterPort = await freePort();
  rewrite(path, (config) => (config.postgres = { url: `postgres://postgres@127.0.0.1:${laterPort}/postgres`, connectRetryMs: 30_000 }));
  const node = spawnNodeProcess(path, "node-a", port);
  // Postgres comes up only once the node has found it unreachable and is retrying.
  try {
    await waitForOutput(node, "postgres unreachable");
  } catch (error) {
    await killNodeProcess(node);
    throw error;
  }
  const postgres = await startPostgres({ port: laterPort });
  try {
    await waitForServing(node);
    const session = createNodeSession(node.url);
    const client = createClient(NodeService, createNodeTransport(node.url, { session }));
    const created = await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: "late-pg" } } }] });
    expect(created.results[0]?.result.case).toBe("createAccount");
    session.abort();
  } finally {
    await killNodeProcess(node);
    await postgres.stop();
  }
}, 60_000);

test("a snapshot newer than the log (the log was replaced) stops the start, naming shard and offsets", async () => {
  const backends = await backendsFor(2);
  const { path, port } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: 2, snapshotEveryRecords: 1 });
  const node = await startNodeProcess(path, "node-a", port);
  const session = createNodeSession(node.url);
  const client = createClient(NodeService, createNodeTransport(node.url, { session }));
  for (let i = 0; i < 5; i++) await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: `acct-${i}` } } }] });
  session.abort();
  node.proc.kill("SIGTERM"); // a clean stop snapshots every shard
  await node.proc.exited;
  backends.kafka.createTopic("oms.wal.empty", 2);
  rewrite(path, (config) => (config.kafka.topic = "oms.wal.empty"));
  const { code, output } = await runToExit(path, "node-a");
  expect(code).not.toBe(0);
  expect(output).toMatch(/shard \d: the snapshot includes the log up to offset \d+ but the log ends at \d+; refusing to start/);
}, 60_000);

test("a topic without a partition for every shard stops the start, naming topic and partitions", async () => {
  const backends = await backendsFor(2);
  backends.kafka.createTopic("oms.wal.short", 1);
  const { path } = await nodeConfigOn(backends, { nodeId: "node-a", shardCount: 2, snapshotEveryRecords: 1000 });
  rewrite(path, (config) => (config.kafka.topic = "oms.wal.short"));
  const { code, output } = await runToExit(path, "node-a");
  expect(code).not.toBe(0);
  expect(output).toContain("oms.wal.short");
  expect(output).toMatch(/partition/);
}, 60_000);
