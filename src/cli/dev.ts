// `oms dev`: the whole system on one machine: a balancer in this process and two node
// processes, each with its SQLite log and snapshots under the data directory and its
// simulated venue. Killing this process (even with SIGKILL) stops the nodes too; starting it
// again on the same data directory brings back every acknowledged change.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../config/cluster-config.ts";
import { selfCommand } from "./child-process.ts";
import { devKeys } from "./dev-keys.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { startBalancer } from "./start-balancer.ts";
import { LOOPBACK_ORIGINS } from "../rpc/cors.ts";
import { freePort } from "../rpc/free-port.ts";
import { waitUntilServing } from "../rpc/wait-until-serving.ts";

const NODE_READY_TIMEOUT_MS = 120_000;
/** 256 bits: the cluster secret of one run, never written to disk. */
const DEV_SECRET_BYTES = 32;

export interface DevOptions {
  port: number;
  dataDir: string;
}

export async function runDev(base: ClusterConfig, options: DevOptions): Promise<void> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir, { waitMs: 0 }).catch((error: unknown) => {
    // Without this, the second oms dev's nodes would wait on the first's and it would serve nothing.
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason} (another oms dev?): stop it, or give this one another --data-dir`, { cause: error });
  });
  const half = Math.ceil(base.shardCount / 2);
  const shards = [...Array(base.shardCount).keys()];
  const nodes = [
    { id: "node-a", host: "127.0.0.1", port: await freePort(), shards: shards.slice(0, half) },
    { id: "node-b", host: "127.0.0.1", port: await freePort(), shards: shards.slice(half) },
  ];
  // Pages under development are served from this machine on some port (a bundler's dev server).
  const corsOrigins = [...new Set([...base.balancer.corsOrigins, ...LOOPBACK_ORIGINS])];
  // A new secret each run, so that even a process on this machine cannot call a node directly;
  // the nodes get it in their environment (argv is visible to everyone in ps), never in the file.
  const secret = randomBytes(DEV_SECRET_BYTES).toString("hex");
  // The node hop stays plain on loopback whatever the base configuration says.
  const cluster = CLUSTER_DEFAULTS.cluster;
  const config: ClusterConfig = { ...base, dataDir, nodes, cluster, balancer: { ...base.balancer, port: options.port, corsOrigins } };
  const configFile = join(dataDir, "cluster.json");
  writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");
  const commands = nodes.map((node) => ["node", "--config", configFile, "--node-id", node.id, "--exit-with-parent"]);
  // With both production backends, the read model in Postgres is kept up to date as well.
  if (config.kafka.brokers !== "" && config.postgres.url !== "") commands.push(["project", "--config", configFile, "--exit-with-parent"]);
  const children = commands.map((args) =>
    Bun.spawn(selfCommand(args), { stdin: "pipe", stdout: "inherit", stderr: "inherit", env: nodeEnvironment(secret) }),
  );
  const stopChildren = async () => {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => child.exited));
    unlock();
  };
  for (const child of children) {
    void child.exited.then((code) => {
      if (!stopping) console.error(JSON.stringify({ level: "error", msg: "node process exited", pid: child.pid, code }));
    });
  }
  let stopping = false;
  // A node that exits before serving (a bad config, storage it cannot open) fails the start now,
  // not after NODE_READY_TIMEOUT_MS.
  const exitedEarly = Promise.race(
    children.map((child, index) =>
      child.exited.then((code) => Promise.reject(new Error(`oms ${commands[index]?.[0]} (pid ${child.pid}) exited with code ${code} before serving; its log is above`))),
    ),
  );
  exitedEarly.catch(() => undefined);
  try {
    await Promise.race([Promise.all(nodes.map((node) => waitServing(`http://${node.host}:${node.port}`))), exitedEarly]);
  } catch (error) {
    stopping = true;
    await stopChildren();
    throw error;
  }
  let balancer: Awaited<ReturnType<typeof startBalancer>>;
  try {
    balancer = await startBalancer({ ...config, cluster: { ...cluster, secret } });
  } catch (error) {
    stopping = true;
    await stopChildren();
    const inUse = error instanceof Error && "code" in error && error.code === "EADDRINUSE";
    if (inUse) throw new Error(`${error.message} (--port chooses another port)`, { cause: error });
    throw error;
  }
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await balancer.stop();
    await stopChildren();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  const url = `http://127.0.0.1:${balancer.server.port}`;
  const keys = await devKeys(dataDir, balancer.keys, url);
  console.log(`oms dev: admin key    export OMS_ADMIN_KEY=${keys.admin}   (create accounts, deposit, issue and revoke keys)`);
  console.log(`oms dev: account key  export OMS_API_KEY=${keys.account}   (account "${keys.accountId}")`);
  console.log(`oms dev: ready on ${url} (data in ${dataDir})`);
}

async function waitServing(url: string): Promise<void> {
  try {
    await waitUntilServing(url, { timeoutMs: NODE_READY_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`node at ${url} did not become ready: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}


/** This process's environment with the run's secret in place of any the caller set. */
function nodeEnvironment(secret: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, OMS_CLUSTER_SECRET: secret };
  delete env["OMS_CLUSTER_SECRET_FILE"];
  for (const name of Object.keys(env)) if (name.startsWith("OMS_CLUSTER_TLS_")) delete env[name];
  return env;
}
