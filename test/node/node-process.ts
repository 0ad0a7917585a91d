// An `oms node` process started the way an operator starts one (its own config file, its own
// data directory), for tests that kill it and start it again on the same directory.
import type { Subprocess } from "bun";
import { createClient } from "@connectrpc/connect";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";

/** Starting includes recovering every shard from the log; a slow CI machine gets this long. */
const SERVING_TIMEOUT_MS = 20_000;
const SERVING_POLL_MS = 50;
const HEALTH_CALL_TIMEOUT_MS = 1_000;
const REPO_ROOT = join(import.meta.dir, "..", "..");

export interface NodeProcessConfig {
  nodeId: string;
  port: number;
  shardCount: number;
  dataDir: string;
  snapshotEveryRecords: number;
  /** Shards this node owns; all of them when absent. */
  shards?: readonly number[];
  /** More settings (kafka, postgres, node), merged into the file as they are. */
  extra?: Record<string, unknown>;
  /** The file's name inside dataDir, for tests that run two nodes on one directory tree. */
  fileName?: string;
}

/** Writes a one-node cluster configuration that owns every shard; returns its path. */
export function writeNodeConfig(config: NodeProcessConfig): string {
  const path = join(config.dataDir, config.fileName ?? "oms.json");
  const shards = config.shards ?? Array.from({ length: config.shardCount }, (_, shard) => shard);
  // Shards the node does not own still need an owner in a valid file: a node nobody starts.
  const others = Array.from({ length: config.shardCount }, (_, shard) => shard).filter((shard) => !shards.includes(shard));
  const absent = others.length === 0 ? [] : [{ id: `${config.nodeId}-absent`, host: "127.0.0.1", port: 0, shards: others }];
  const file = {
    shardCount: config.shardCount,
    dataDir: config.dataDir,
    logLevel: "warn",
    nodes: [{ id: config.nodeId, host: "127.0.0.1", port: config.port, shards }, ...absent],
    snapshot: { everyRecords: config.snapshotEveryRecords },
    ...config.extra,
  };
  writeFileSync(path, JSON.stringify(file, null, 2));
  return path;
}

export interface NodeProcess {
  readonly url: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * Spawns `oms node` and resolves once Health reports SERVING, i.e. after recovery. OMS_*
 * variables of the test's environment are dropped so that the file alone configures the node.
 */
export async function startNodeProcess(configPath: string, nodeId: string, port: number): Promise<NodeProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_")));
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", "node", "--config", configPath, "--node-id", nodeId], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env,
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const node: NodeProcess = { url: `http://127.0.0.1:${port}`, proc, output: () => text };
  try {
    await waitForServing(node);
  } catch (error) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw error;
  }
  return node;
}

/** SIGKILL, and wait until the process is gone (so its pid is dead and its port free). */
export async function killNodeProcess(node: NodeProcess): Promise<void> {
  node.proc.kill("SIGKILL");
  await node.proc.exited;
}

async function waitForServing(node: NodeProcess): Promise<void> {
  // One session for every poll: it reconnects by itself while the node is not listening yet.
  const session = createNodeSession(node.url);
  const health = createClient(Health, createNodeTransport(node.url, { session, timeoutMs: HEALTH_CALL_TIMEOUT_MS }));
  const deadline = Date.now() + SERVING_TIMEOUT_MS;
  let last = "no answer yet";
  try {
    for (;;) {
      if (node.proc.exitCode !== null || node.proc.signalCode !== null) {
        throw new Error(`oms node exited (${node.proc.exitCode ?? node.proc.signalCode}) before serving:\n${node.output()}`);
      }
      if (Date.now() > deadline) throw new Error(`oms node not SERVING after ${SERVING_TIMEOUT_MS} ms (${last}):\n${node.output()}`);
      try {
        const { status } = await health.check({ service: SERVER_HEALTH });
        if (status === ServingStatus.SERVING) return;
        last = `status ${ServingStatus[status]}`;
      } catch (error) {
        // Not listening yet: the node is still recovering its shards.
        last = String(error);
      }
      await Bun.sleep(SERVING_POLL_MS);
    }
  } finally {
    session.abort();
  }
}

/** Runs work against the node; if it throws, the error carries what the node printed (its crash, if any). */
export async function withNodeOutput<T>(node: NodeProcess, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new Error(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n--- oms node output ---\n${node.output()}`, { cause: error });
  }
}
