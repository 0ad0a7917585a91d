// A node process listens on its node port and nowhere else: /metrics, health and reflection
// share that port (behind the cluster secret but for health), and no other TCP or UDP socket
// is bound. Read from /proc: the process's socket inodes against the kernel's socket tables.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/rpc/free-port.ts";
import { killNodeProcess, startNodeProcess, writeNodeConfig, type NodeProcess } from "./node-process.ts";

const TCP_LISTEN = "0A";
let node: NodeProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), "oms-node-listens-"));

afterAll(async () => {
  if (node !== undefined) await killNodeProcess(node);
  rmSync(dataDir, { recursive: true, force: true });
});

function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // An fd closed while we listed them.
    }
  }
  return inodes;
}

/** The rows of a /proc/net table owned by these inodes: local port (decimal) and state. */
function rowsOf(table: string, inodes: Set<string>): { port: number; state: string }[] {
  const lines = readFileSync(`/proc/net/${table}`, "utf8").trim().split("\n").slice(1);
  return lines
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => inodes.has(fields[9] ?? ""))
    .map((fields) => ({ port: parseInt((fields[1] ?? ":").split(":")[1] ?? "", 16), state: fields[3] ?? "" }));
}

test("an oms node process listens on its node port only: one TCP listener, no UDP socket", async () => {
  const port = await freePort();
  const config = writeNodeConfig({ nodeId: "node-a", port, shardCount: 2, dataDir, snapshotEveryRecords: 1_000, extra: { cluster: { secret: "node-listens-secret-0123456789" } } });
  node = await startNodeProcess(config, "node-a", port);
  const inodes = socketInodesOf(node.proc.pid);
  const listeners = [...rowsOf("tcp", inodes), ...rowsOf("tcp6", inodes)].filter((row) => row.state === TCP_LISTEN);
  expect(listeners.map((row) => row.port)).toEqual([port]);
  expect([...rowsOf("udp", inodes), ...rowsOf("udp6", inodes)]).toEqual([]);
});
