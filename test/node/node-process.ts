// An `oms node` process started the way an operator starts one (its own config file, its own
// data directory), for tests that kill it and start it again on the same directory.
import type { Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitUntilServing } from "../../src/rpc/wait-until-serving.ts";

/** Starting includes recovering every shard from the log; a slow CI machine gets this long. */
const SERVING_TIMEOUT_MS = 20_000;
const REPO_ROOT = join(import.meta.dir, "..", "..");
const OUTPUT_POLL_MS = 20;

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
  const node = spawnNodeProcess(configPath, nodeId, port);
  try {
    await waitForServing(node);
  } catch (error) {
    await killNodeProcess(node);
    throw error;
  }
  return node;
}

/** Spawns `oms node` as startNodeProcess does, without waiting for it to serve. */
export interface SpawnLimits {
  /**
   * RLIMIT_FSIZE in 512-byte blocks (`ulimit -f`), with SIGXFSZ ignored: a write past it fails
   * (EFBIG) as a write to a full disk does, and the process lives on to handle it.
   */
  fileBlocksMax?: number;
}

export function spawnNodeProcess(configPath: string, nodeId: string, port: number, limits: SpawnLimits = {}): NodeProcess {
  return spawnOms(["node", "--config", configPath, "--node-id", nodeId], port, limits);
}

/**
 * An `oms balancer` process on port, resolved once Health reports SERVING; its nodes come from
 * the config file. The same handle as a node's, so the same kill and wait helpers apply.
 */
export async function startBalancerProcess(configPath: string, port: number): Promise<NodeProcess> {
  const balancer = spawnOms(["balancer", "--config", configPath, "--port", String(port)], port);
  try {
    await waitForServing(balancer);
  } catch (error) {
    await killNodeProcess(balancer);
    throw error;
  }
  return balancer;
}

function spawnOms(args: readonly string[], port: number, limits: SpawnLimits = {}): NodeProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_")));
  const command = [process.execPath, "src/cli/main.ts", ...args];
  // An ignored signal stays ignored across exec, so the trap reaches the node itself.
  const limited = limits.fileBlocksMax === undefined
    ? command
    : ["/bin/sh", "-c", `trap '' XFSZ; ulimit -f ${limits.fileBlocksMax} && exec "$@"`, "sh", ...command];
  const proc = Bun.spawn(limited, {
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
  return { url: `http://127.0.0.1:${port}`, proc, output: () => text };
}

/** SIGKILL, and wait until the process is gone (so its pid is dead and its port free). */
export async function killNodeProcess(node: NodeProcess): Promise<void> {
  node.proc.kill("SIGKILL");
  await node.proc.exited;
}

/** Until Health reports SERVING; throws, with what the node printed, if it exits first or takes SERVING_TIMEOUT_MS. */
export async function waitForServing(node: NodeProcess): Promise<void> {
  const exitedBecause = () => (node.proc.exitCode !== null || node.proc.signalCode !== null ? String(node.proc.exitCode ?? node.proc.signalCode) : null);
  try {
    await waitUntilServing(node.url, { timeoutMs: SERVING_TIMEOUT_MS, exitedBecause });
  } catch (error) {
    throw new Error(`oms process ${error instanceof Error ? error.message : String(error)}:\n${node.output()}`, { cause: error });
  }
}

/** Until the node has printed text; throws, with what it printed, if it exits first or takes SERVING_TIMEOUT_MS. */
export async function waitForOutput(node: NodeProcess, text: string): Promise<void> {
  const deadline = Date.now() + SERVING_TIMEOUT_MS;
  while (!node.output().includes(text)) {
    if (node.proc.exitCode !== null || Date.now() > deadline) throw new Error(`oms node never printed "${text}":\n${node.output()}`);
    await Bun.sleep(OUTPUT_POLL_MS);
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
