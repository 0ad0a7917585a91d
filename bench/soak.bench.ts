// The soak: one node (as `oms node` starts it, embedded SQLite log, snapshots every
// snapshot.everyRecords records) takes SOAK_ORDERS orders at a fixed arrival rate in a steady
// open/close mix: each order is submitted (a limit buy that rests at the manual venue), stays
// open while the next OPEN_ORDERS_HELD are submitted, then is canceled (cancel request, the
// venue's cancel, its record): three records per order, and the open orders stay at
// OPEN_ORDERS_HELD. Closed orders leave memory by the configured retention (orders.closedKeptMax
// per account) for the archive. Per window of WINDOW_ORDERS orders it reports the process's RSS
// and heap after a collection, the archive's size, and the submits' acknowledgement latency
// (open loop, from each order's intended start: queueing shows). The node's memory must stay
// flat (within 10%) once retention is full, and the p99 must not grow from window to window.
//
// `bun run soak` (not part of `bun run bench`: ten million orders take minutes). SOAK_ORDERS,
// SOAK_RATE and SOAK_WINDOW override the defaults for a shorter run.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { heapStats } from "bun:jsc";
import { SqliteOrderArchive } from "../src/archive/sqlite-order-archive.ts";
import { openNodeStorage } from "../src/cli/node-storage.ts";
import { configuredNodeOptions } from "../src/cli/start-node.ts";
import { parseClusterConfig } from "../src/config/parse-cluster-config.ts";
import { CASH_SCALE } from "../src/core/money.ts";
import { OmsNode } from "../src/node/oms-node.ts";
import { createLogger } from "../src/rpc/logger.ts";
import { SimulatedVenue } from "../src/venue/simulated-venue.ts";
import { runOpenLoop } from "./lib/open-loop.ts";

const SHARD_COUNT = 16;
const ACCOUNTS = 1000;
/** Closed orders an account keeps in memory: 100,000 over the node, reached after ~0.1 M orders. */
const CLOSED_KEPT_MAX = 100;
/** Open at any time, spread over the accounts: the part of memory that open orders take. */
const OPEN_ORDERS_HELD = 20_000;
/** The archive keeps this much order time: at 20,000 orders/s, about 2.4 million orders on disk. */
const ARCHIVE_KEPT_MS = 120_000;
const ORDERS_DEFAULT = 10_000_000;
const ORDERS = numberFromEnvironment("SOAK_ORDERS") ?? ORDERS_DEFAULT;
const RATE_PER_S = numberFromEnvironment("SOAK_RATE") ?? 20_000;
const WINDOW_ORDERS = numberFromEnvironment("SOAK_WINDOW") ?? 1_000_000;
const WARMUP_MS = 1_000;
/** Far above what a node that keeps up holds; past it the run is overloaded and stops. */
const IN_FLIGHT_MAX = 50_000;
const NODE_ID = "soak-node";
const LIMIT_PRICE = 100n * CASH_SCALE;

interface WindowFigures {
  orders: number;
  rssMiB: number;
  heapMiB: number;
  archiveRows: number;
  archiveMiB: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  achievedPerS: number;
  errors: number;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-soak-"));
  const config = parseClusterConfig({
    shardCount: SHARD_COUNT,
    dataDir,
    logLevel: "error",
    nodes: [{ id: NODE_ID, host: "127.0.0.1", port: 9101, shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard) }],
    orders: { closedKeptMax: CLOSED_KEPT_MAX, closedKeptMs: 24 * 60 * 60 * 1000, archiveKeptMs: ARCHIVE_KEPT_MS },
  });
  const logger = createLogger({ level: "error", fields: { component: "soak" } });
  const storage = await openNodeStorage(config, NODE_ID, logger);
  const venue = new SimulatedVenue({ seed: 1, now: Date.now, manual: true });
  const node = await OmsNode.start({
    ...configuredNodeOptions(config, NODE_ID, Array.from({ length: SHARD_COUNT }, (_, shard) => shard), storage, venue, logger),
    onFatal: (error) => {
      throw error;
    },
  });
  const accountIds = Array.from({ length: ACCOUNTS }, (_, index) => `soak-${index}`);
  for (const accountId of accountIds) {
    await node.commit({ kind: "create_account", accountId, atMs: node.clock() }, () => null);
    await node.commit({ kind: "deposit", accountId, amount: 1_000_000_000n * CASH_SCALE, atMs: node.clock() }, () => null);
  }
  const held: { accountId: string; orderId: string }[] = [];
  let heldFrom = 0;
  let firstError: string | null = null;
  const note = (error: unknown) => {
    firstError ??= error instanceof Error ? error.message : String(error);
  };
  let submitted = 0;
  let cancelsInFlight = 0;
  const send = async (): Promise<void> => {
    const accountId = accountIds[submitted++ % ACCOUNTS] as string;
    const orderId = Bun.randomUUIDv7();
    const outcome = await node.commit(
      { kind: "submit_order", accountId, orderId, clientOrderId: orderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "gtc", qty: 1n, limitPrice: LIMIT_PRICE, stopPrice: null, askPrice: 0n, atMs: node.clock() },
      () => null,
    );
    if (!outcome.ok) throw new Error(`submit refused: ${outcome.rejection.message}`);
    held.push({ accountId, orderId });
    if (held.length - heldFrom <= OPEN_ORDERS_HELD) return;
    const oldest = held[heldFrom++] as { accountId: string; orderId: string };
    if (heldFrom > OPEN_ORDERS_HELD) {
      held.splice(0, heldFrom);
      heldFrom = 0;
    }
    // The cancel is not timed: its record, and the venue's cancel report after it, are the load
    // that closes orders; the figure is the submits' latency under it.
    cancelsInFlight += 1;
    node.commit({ kind: "cancel_order", accountId: oldest.accountId, orderId: oldest.orderId, atMs: node.clock() }, () => null).then((cancel) => {
      cancelsInFlight -= 1;
      if (!cancel.ok) note(new Error(`cancel refused: ${cancel.rejection.message}`));
    }, note);
  };
  const windows: WindowFigures[] = [];
  let lastCounts: Record<string, number> = {};
  console.log(`soak: ${ORDERS.toLocaleString("en-US")} orders at ${RATE_PER_S.toLocaleString("en-US")}/s, ${ACCOUNTS} accounts, ${CLOSED_KEPT_MAX} closed kept per account, ${OPEN_ORDERS_HELD.toLocaleString("en-US")} open`);
  console.log("orders      rss_MiB  heap_MiB  archive_rows  archive_MiB  p50_us  p99_us  p99.9_us  achieved/s  errors");
  for (let window = 0; window * WINDOW_ORDERS < ORDERS; window += 1) {
    const count = Math.min(WINDOW_ORDERS, ORDERS - window * WINDOW_ORDERS);
    const result = await runOpenLoop({
      ratePerSec: RATE_PER_S,
      durationMs: (count / RATE_PER_S) * 1000,
      warmupMs: window === 0 ? WARMUP_MS : 0,
      send,
      inFlightMax: IN_FLIGHT_MAX,
    });
    // Measured at rest: the cancels and venue reports the window started have landed, and the
    // archive has written what it was handed; a collection first, so the heap is what is live.
    while (cancelsInFlight > 0) await Bun.sleep(10);
    await (storage.archive as SqliteOrderArchive).flushToDisk();
    Bun.gc(true);
    await Bun.sleep(200);
    const figures: WindowFigures = {
      orders: submitted,
      rssMiB: mib(process.memoryUsage().rss),
      heapMiB: mib(heapStats().heapSize),
      archiveRows: await (storage.archive as SqliteOrderArchive).size(),
      archiveMiB: mib(fileBytes(join(dataDir, NODE_ID, "archive.sqlite")) + fileBytes(join(dataDir, NODE_ID, "archive.sqlite-wal"))),
      p50Us: result.latency.p50_us,
      p99Us: result.latency.p99_us,
      p999Us: result.latency.p999_us,
      achievedPerS: Math.round(result.achievedPerSec),
      errors: result.errors,
    };
    windows.push(figures);
    if (process.env["SOAK_TYPES"] !== undefined) {
      const counts = heapStats().objectTypeCounts;
      const grown = Object.entries(counts).map(([type, n]) => [type, n - (lastCounts[type] ?? 0)] as const).sort((a, b) => b[1] - a[1]).slice(0, 8);
      console.log(grown.map(([type, n]) => `${type}+${n}`).join(" "));
      lastCounts = counts;
    }
    console.log(
      [figures.orders.toLocaleString("en-US").padEnd(11), pad(figures.rssMiB, 8), pad(figures.heapMiB, 9), pad(figures.archiveRows, 13), pad(figures.archiveMiB, 12), pad(figures.p50Us, 7), pad(figures.p99Us, 7), pad(figures.p999Us, 9), pad(figures.achievedPerS, 11), pad(figures.errors, 7)].join(" "),
    );
    if (result.overloaded) {
      console.log("soak: overloaded (in flight reached its bound); stopping");
      break;
    }
  }
  // The venue must not be closed under a cancel the log has not confirmed yet.
  while (cancelsInFlight > 0) await Bun.sleep(10);
  await Bun.sleep(100);
  await node.close();
  await node.release();
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
  summarize(windows);
  if (firstError !== null) console.log(`first error: ${firstError}`);
}

/** RSS spread once retention is full (from the second window on) and p99 first to last: the row for BENCHMARKS.md. */
function summarize(windows: readonly WindowFigures[]): void {
  const steady = windows.slice(1);
  if (steady.length === 0) return;
  const rss = steady.map((w) => w.rssMiB);
  const spread = (Math.max(...rss) - Math.min(...rss)) / Math.min(...rss);
  const p99 = windows.map((w) => w.p99Us);
  const total = windows[windows.length - 1]?.orders ?? 0;
  const row =
    `| soak | node RSS over ${total.toLocaleString("en-US")} orders, open/close mix at ${RATE_PER_S.toLocaleString("en-US")}/s | ${Math.max(...rss)} MiB max | spread <= 10% | ${spread <= 0.1 ? "yes" : "**no**"} | ` +
      `RSS per ${WINDOW_ORDERS.toLocaleString("en-US")} orders (MiB): ${windows.map((w) => w.rssMiB).join(", ")}; spread from the 2nd window ${(spread * 100).toFixed(1)}%; ` +
      `submit ack p99 per window (µs): ${p99.join(", ")}; ${ACCOUNTS} accounts, ${CLOSED_KEPT_MAX} closed orders kept each, ${OPEN_ORDERS_HELD.toLocaleString("en-US")} open; \`bun run soak\` |`;
  const allRss = windows.map((w) => w.rssMiB);
  const spreadAll = (Math.max(...allRss) - Math.min(...allRss)) / Math.min(...allRss);
  const p99Row =
    `| soak | submit ack p99, highest window ÷ first, at a fixed ${RATE_PER_S.toLocaleString("en-US")}/s | ${(Math.max(...p99) / (p99[0] ?? 1)).toFixed(2)} × |  |  | ` +
    `p99 per ${WINDOW_ORDERS.toLocaleString("en-US")} orders (µs): ${p99.join(", ")}; p50: ${windows.map((w) => w.p50Us).join(", ")}; RSS spread over every window ${(spreadAll * 100).toFixed(1)}%; node level (one node in the bench's process, its commit path), not through a balancer |`;
  console.log(`\n${row}\n${p99Row}`);
  // bench/lib/report.ts puts these rows in BENCHMARKS.md's table whenever \`bun run bench\` writes it.
  if (ORDERS === ORDERS_DEFAULT) writeFileSync(join(import.meta.dir, "soak.md"), `${row}\n${p99Row}\n`);
  else console.log("(a shorter run than the default: bench/soak.md not written)");
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width);
}

function numberFromEnvironment(name: string): number | null {
  const text = process.env[name];
  if (text === undefined || text === "") return null;
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`soak: ${name} must be a positive integer, got ${text}`);
  return value;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
