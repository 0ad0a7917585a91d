// The disk filling up under a node's SQLite log, made portable: the node runs under a file size
// limit (RLIMIT_FSIZE, `ulimit -f`, with SIGXFSZ ignored so a write past it fails with EFBIG
// instead of killing the process), which needs no root and no mount, and fails SQLite's writes
// exactly where a full disk would (SQLite reports EFBIG as an I/O error, ENOSPC as "disk is
// full"; the node handles both as a failed append). The answer chosen: stop, not limp on. The
// ledger in memory is already ahead of the log for the failed batch and reads wait for the
// log, so the node refuses clearly (callers get UNAVAILABLE naming the log, never an ack for a
// record the log does not have), exits, stops the same way while there is no room, leaves the
// log intact, and recovers every acknowledged order once there is room again.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { Code } from "@connectrpc/connect";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { freePort } from "../e2e/dev-process.ts";
import { killNodeProcess, spawnNodeProcess, startNodeProcess, waitForServing, withNodeOutput, writeNodeConfig, type NodeProcess } from "../node/node-process.ts";
import { nodeClient } from "../node/production-backends.ts";

const SHARD_COUNT = 1;
const ACCOUNT = "disk-full-acct";
/** The file size limit, in the shell's 512-byte blocks: room to start, then full within a few thousand orders. */
const FILE_BLOCKS_MAX = 2_048;
const CALLERS = 16;
/** Bounds the load: a node that never meets the limit fails the test instead of running on. */
const ORDERS_MAX = 200_000;
const TEST_TIMEOUT_MS = 120_000;
/** The node's exit code when its ledger can no longer be trusted (sysexits EX_SOFTWARE; oms-node.ts). */
const EXIT_SOFTWARE = 70;

const dataDir = mkdtempSync(join(tmpdir(), "oms-disk-full-"));
const running: NodeProcess[] = [];
afterAll(async () => {
  for (const node of running) await killNodeProcess(node);
  rmSync(dataDir, { recursive: true, force: true });
});

const order = (clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" },
  },
});

type Outcome = { ok: true; id: string } | { ok: false; code: Code; message: string };

function outcomeOf(result: NodeResult | undefined): Outcome {
  if (result?.result.case === "submitOrder") return { ok: true, id: result.result.value.order!.id };
  if (result?.result.case === "error") return { ok: false, code: result.result.value.code, message: result.result.value.message };
  throw new Error(`unexpected result ${JSON.stringify(result?.result)}`);
}

/** `oms node` under a file size limit, as spawnNodeProcess starts it otherwise. */
function spawnWithFileLimit(configPath: string, nodeId: string, port: number): NodeProcess {
  const node = spawnNodeProcess(configPath, nodeId, port, { fileBlocksMax: FILE_BLOCKS_MAX });
  running.push(node);
  return node;
}

/**
 * Submits orders from CALLERS callers until the node refuses or drops one (it stopped);
 * records every ack in acknowledged and counts the refusals by message. Waits for the exit.
 */
async function loadUntilStopped(node: NodeProcess, prefix: string, acknowledged: Map<string, string>) {
  const { client, close } = nodeClient(node.url);
  const refusals = new Map<string, number>();
  let cutOff = 0;
  let sent = 0;
  let stopped = false;
  const caller = async (): Promise<void> => {
    while (!stopped && sent < ORDERS_MAX) {
      const clientOrderId = `${prefix}-${sent++}`;
      let outcome: Outcome;
      try {
        outcome = outcomeOf((await client.execute({ commands: [order(clientOrderId)] })).results[0]);
      } catch {
        // The node stopped with this call in flight.
        cutOff += 1;
        stopped = true;
        return;
      }
      if (outcome.ok) acknowledged.set(clientOrderId, outcome.id);
      else {
        const kind = `${Code[outcome.code]}: ${outcome.message}`;
        refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
        stopped = true;
      }
    }
  };
  await withNodeOutput(node, () => Promise.all(Array.from({ length: CALLERS }, caller)));
  close();
  await node.proc.exited;
  expect(sent).toBeLessThan(ORDERS_MAX);
  return { refusals, cutOff };
}

test("the disk fills under the SQLite log: UNAVAILABLE naming the log, no false ack, the node stops, stops again while there is no room, and with room recovers every acknowledged order from an intact log", async () => {
  const port = await freePort();
  const configPath = writeNodeConfig({ nodeId: "node-a", port, shardCount: SHARD_COUNT, dataDir, snapshotEveryRecords: 1_000_000 });
  const limited = spawnWithFileLimit(configPath, "node-a", port);
  await waitForServing(limited);
  const acknowledged = new Map<string, string>();
  await withNodeOutput(limited, async () => {
    const { client, close } = nodeClient(limited.url);
    await client.execute({ commands: [{ command: { case: "createAccount", value: { accountId: ACCOUNT } } }, { command: { case: "deposit", value: { accountId: ACCOUNT, amount: "100000000" } } }] });
    close();
  });
  const first = await loadUntilStopped(limited, "o", acknowledged);
  console.log(`disk full: ${acknowledged.size} acknowledged, ${first.cutOff} cut off, refusals ${JSON.stringify(Object.fromEntries(first.refusals))}`);
  expect(acknowledged.size).toBeGreaterThan(0);
  // Refused, each UNAVAILABLE, the failed batch's callers told it was the log; then the node stopped.
  expect([...first.refusals.keys()].filter((kind) => !kind.startsWith("Unavailable: "))).toEqual([]);
  expect([...first.refusals.keys()].some((kind) => kind.includes("event log: writing a batch"))).toBe(true);
  expect({ exitCode: limited.proc.exitCode, said: limited.output().includes("event log") }).toEqual({ exitCode: EXIT_SOFTWARE, said: true });

  // Still no room: the node either cannot start (its first write, the epoch marker, fails) or
  // serves until its log is full again and then refuses and stops the same way; it says why.
  const again = spawnWithFileLimit(configPath, "node-a", port);
  const started = await waitForServing(again).then(() => "serving", (error: unknown) => String(error));
  if (started === "serving") {
    const second = await loadUntilStopped(again, "again", acknowledged);
    expect([...second.refusals.keys()].filter((kind) => !kind.startsWith("Unavailable: "))).toEqual([]);
  } else {
    expect(started).toContain("event log");
  }
  await again.proc.exited;
  expect(again.proc.exitCode).toBe(EXIT_SOFTWARE);

  // The log is whole: SQLite finds nothing wrong in it.
  const log = new Database(join(dataDir, "node-a", "wal.sqlite"), { readonly: true });
  try {
    expect(log.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  } finally {
    log.close();
  }

  // Room again: every acknowledged order, under its id, and nothing the full disk refused.
  const recovered = await startNodeProcess(configPath, "node-a", port);
  running.push(recovered);
  const reopened = nodeClient(recovered.url);
  try {
    const present = new Map<string, string>();
    let pageToken = "";
    do {
      const answer = await reopened.client.execute({ commands: [{ command: { case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageSize: 500, pageToken } } }] });
      const result = answer.results[0]?.result;
      if (result?.case !== "listOrders") throw new Error(`listOrders refused: ${JSON.stringify(result?.value)}`);
      for (const o of result.value.orders) present.set(o.clientOrderId, o.id);
      pageToken = result.value.nextPageToken;
    } while (pageToken !== "");
    expect(Object.fromEntries([...present].sort())).toEqual(Object.fromEntries([...acknowledged].sort()));
    const after = outcomeOf((await reopened.client.execute({ commands: [order("after-room")] })).results[0]);
    expect(after.ok).toBe(true);
  } finally {
    reopened.close();
  }
}, TEST_TIMEOUT_MS);
