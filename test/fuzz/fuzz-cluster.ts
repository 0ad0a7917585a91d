// The cluster a fuzz run calls, with a "victim" account whose state no refused call may change,
// and a "playground" account where anything the fuzzer manages to get accepted may land: one
// balancer and one node in this process (two shards), or `oms dev` as a process of its own (for
// long campaigns: its processes' exits and memory are then its own, not the fuzzer's).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/rpc/free-port.ts";
import { killDev, startDev, type DevProcess } from "../e2e/dev-process.ts";
import { startInProcessCluster } from "../support/in-process-cluster.ts";
import { callerHeaders, type ApiKey } from "./request-headers.ts";

export const VICTIM_ACCOUNT = "fuzz-victim";
export const PLAYGROUND_ACCOUNT = "fuzz-playground";

export interface FuzzCluster {
  baseUrl: string;
  /** The admin key every well-behaved fuzz call carries. */
  key: ApiKey;
  /** HTTP/1.1 connections the balancer has accepted, where this process can see it (in process). */
  http1Accepted: (() => number) | undefined;
  /** What broke the cluster (a process that exited), or undefined while it is whole. */
  broken(): string | undefined;
  /** RSS of the cluster's own processes, when they are not this one. */
  serverRssBytes: (() => number) | undefined;
  stop(): Promise<void>;
}

export type ClusterKind = "in-process" | "process";

export function startFuzzCluster(kind: ClusterKind = "in-process"): Promise<FuzzCluster> {
  return kind === "in-process" ? startInProcess() : startDevProcess();
}

async function startInProcess(): Promise<FuzzCluster> {
  // Its admin key is issued before the balancer starts, so that its first read of the key store has it.
  const running = await startInProcessCluster("fuzz");
  const cluster: FuzzCluster = {
    baseUrl: running.baseUrl,
    key: apiKeyOf(running.adminKey),
    http1Accepted: () => running.balancer.server.connectionCounts().http1,
    // In one process, a crash of either ends the fuzzer too; a node that stopped itself answers UNAVAILABLE, which the victim's checks catch.
    broken: () => undefined,
    serverRssBytes: undefined,
    stop: () => running.stop(),
  };
  await seedAccounts(cluster);
  return cluster;
}

/** `oms dev` with its own data directory and port, as a user starts it (test/e2e/dev-process.ts). */
async function startDevProcess(): Promise<FuzzCluster> {
  const dev = await startDev(mkdtempSync(join(tmpdir(), "oms-fuzz-dev-")), await freePort());
  const cluster: FuzzCluster = {
    baseUrl: dev.url,
    key: devKeyOf(dev),
    http1Accepted: undefined,
    broken: () => {
      if (dev.proc.exitCode !== null) return `oms dev exited with code ${dev.proc.exitCode}`;
      if (dev.output().includes("node process exited")) return "a node process of oms dev exited";
      return undefined;
    },
    serverRssBytes: () => processTreeRssBytes(dev.proc.pid),
    stop: () => killDev(dev),
  };
  await seedAccounts(cluster);
  return cluster;
}

/** The RSS of a process and its children (oms dev and its nodes), from ps. */
function processTreeRssBytes(pid: number): number {
  const ps = Bun.spawnSync(["ps", "-o", "rss=", "-p", String(pid), "--ppid", String(pid)]);
  const kib = new TextDecoder().decode(ps.stdout).split(/\s+/).filter(Boolean).map(Number);
  return kib.reduce((sum, value) => sum + value, 0) * 1024;
}

async function seedAccounts(cluster: FuzzCluster): Promise<void> {
  for (const account of [VICTIM_ACCOUNT, PLAYGROUND_ACCOUNT]) {
    await setupCall(cluster, "AccountService/CreateAccount", { accountId: account });
    await setupCall(cluster, "AccountService/Deposit", { accountId: account, amount: "10000" });
    // A buy far below the market rests: the account has an open order for cancels and replaces to aim at.
    await setupCall(cluster, "OrderService/SubmitOrder", {
      accountId: account, clientOrderId: "resting-1", symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT",
      timeInForce: "TIME_IN_FORCE_GTC", qty: "1", limitPrice: "1.00",
    });
  }
}

/** The admin key `oms dev` in its own process prints at start. */
function devKeyOf(dev: DevProcess): ApiKey {
  return apiKeyOf(dev.adminKey);
}

/** "ID:SECRET" split at its first colon (a secret may hold more). */
function apiKeyOf(bearer: string): ApiKey {
  const colon = bearer.indexOf(":");
  return { id: bearer.slice(0, colon), secret: bearer.slice(colon + 1) };
}

async function setupCall(cluster: FuzzCluster, method: string, body: unknown): Promise<void> {
  const response = await fetch(`${cluster.baseUrl}/oms.v1.${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...callerHeaders(cluster.key) },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`fuzz cluster setup: ${method} answered ${response.status}: ${await response.text()}`);
}
