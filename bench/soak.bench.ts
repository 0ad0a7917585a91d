// The soak: one node (as `oms node` starts it, embedded SQLite log, snapshots every
// snapshot.everyRecords records, serving Execute on its port) takes SOAK_ORDERS orders at a fixed
// arrival rate in a steady open/close mix: each order is submitted (a limit buy that rests at the
// manual venue), stays open while the next OPEN_ORDERS_HELD are submitted, then is canceled
// (cancel request, the venue's cancel, its record): three records per order, and the open orders
// stay at OPEN_ORDERS_HELD. Closed orders leave memory by the configured retention
// (orders.closedKeptMax per account) for the archive.
//
// Beside that driver, which calls the node in this process, a probe (bench/soak-probe.ts, a
// process of its own holding a balancer) sends SubmitOrder through the balancer to this node at
// a fixed low rate for the whole run: the end-to-end latency an ordinary client sees while the
// node works through the history.
//
// Memory is sampled every SAMPLE_MS and never forced: no collection is run for the figures, as
// none is run in production. The JS heap rises with garbage and falls at each full collection
// many times a window, so a window's figure is the median of its samples (and its max beside
// it), not one reading that lands anywhere on that sawtooth. Per window of WINDOW_ORDERS orders:
// RSS and JS heap (min/median/max), what else is anonymous memory (SQLite's page caches, the
// allocators, the worker threads), the archive's file, and latency: the driver's submits
// (node level) and the probe's (end to end), both open loop from each order's intended start.
// The node's RSS must stay flat (the windows' medians within 10%) once retention is full, and
// the probe's p99 must not grow (window_spread.ts trendOf).
//
// `bun run soak` (not part of `bun run bench`: ten million orders take ~21 minutes; run it
// alone on the machine). SOAK_ORDERS, SOAK_RATE, SOAK_WINDOW and SOAK_PROBE_RATE override the
// defaults for a shorter run, e.g. SOAK_ORDERS=1000000 SOAK_WINDOW=125000 (2 min).
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { SqliteOrderArchive } from "../src/archive/sqlite-order-archive.ts";
import { openNodeStorage } from "../src/cli/node-storage.ts";
import { configuredNodeOptions } from "../src/cli/start-node.ts";
import { loadClusterConfig } from "../src/config/load-cluster-config.ts";
import { CASH_SCALE } from "../src/core/money.ts";
import { executeCalls, nodeServiceRoutes } from "../src/node/node-service.ts";
import { OmsNode } from "../src/node/oms-node.ts";
import { CONNECTION_LIMITS_DEFAULT } from "../src/rpc/connection-limits.ts";
import { freePort } from "../src/rpc/free-port.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../src/rpc/health.ts";
import { createLogger } from "../src/rpc/logger.ts";
import { serveRpc } from "../src/rpc/serve.ts";
import { SimulatedVenue } from "../src/venue/simulated-venue.ts";
import { ADMIN, issueClusterKey } from "../test/support/api-keys.ts";
import type { LatencySummary } from "./lib/histogram.ts";
import { runOpenLoop } from "./lib/open-loop.ts";
import { relativeSpread, spreadOf, trendOf, type SampleSpread } from "./lib/window-spread.ts";
import type { ProbeRequest, ProbeWindow } from "./soak-probe.ts";

const REPO_ROOT = join(import.meta.dir, "..");
const SHARD_COUNT = 16;
const ACCOUNTS = 1000;
/** Closed orders an account keeps in memory: 100,000 over the node, reached after ~0.1 M orders. */
const CLOSED_KEPT_MAX = 100;
/** Open at any time, spread over the accounts: the part of memory that open orders take. */
const OPEN_ORDERS_HELD = 20_000;
/** The archive keeps this much order time: at 8,000 orders/s, about a million orders on disk. */
const ARCHIVE_KEPT_MS = 120_000;
const ORDERS_DEFAULT = 10_000_000;
const ORDERS = numberFromEnvironment("SOAK_ORDERS") ?? ORDERS_DEFAULT;
/** What one node sustains with its p50 near a millisecond on this 2-core machine, the probe beside it. */
const RATE_PER_S = numberFromEnvironment("SOAK_RATE") ?? 8_000;
const WINDOW_ORDERS = numberFromEnvironment("SOAK_WINDOW") ?? 1_000_000;
/** The probe's fixed rate: a client's trickle beside the load, 25,000 timed orders a window. */
const PROBE_RATE_PER_S = numberFromEnvironment("SOAK_PROBE_RATE") ?? 200;
/**
 * One memory reading a second: 125 a window at 8,000/s, enough for the median to sit still
 * while the heap's sawtooth (a full collection every few seconds) goes up and down inside it.
 * A reading costs ~25 µs of the node's thread (process.memoryUsage and /proc/self/status).
 */
const SAMPLE_MS = 1_000;
const WARMUP_MS = 1_000;
/** Far above what a node that keeps up holds; past it the run is overloaded and stops. */
const IN_FLIGHT_MAX = 50_000;
const NODE_ID = "soak-node";
const LIMIT_PRICE = 100n * CASH_SCALE;
/** "Flat" for the RSS row: the windows' medians within this share of the lowest. */
const RSS_SPREAD_MAX = 0.1;

/** One memory reading, MiB. */
interface MemorySample {
  rss: number;
  /** The node's JS heap: live objects and garbage not yet collected. */
  heap: number;
  /** Anonymous memory that is not the JS heap: SQLite's page caches, the allocators, the threads. */
  otherAnon: number;
}

interface WindowFigures {
  orders: number;
  rss: SampleSpread;
  heap: SampleSpread;
  otherAnon: SampleSpread;
  samples: number;
  archiveMiB: number;
  /** Writes the archive sent its thread in the window (one at a time: each carries what closed meanwhile). */
  archiveWrites: number;
  node: LatencySummary;
  achievedPerS: number;
  errors: number;
  probe: ProbeWindow;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-soak-"));
  const [nodePort, balancerPort] = [await freePort(), await freePort()];
  const configPath = join(dataDir, "cluster.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      shardCount: SHARD_COUNT,
      dataDir,
      logLevel: "error",
      balancer: { host: "127.0.0.1", port: balancerPort },
      nodes: [{ id: NODE_ID, host: "127.0.0.1", port: nodePort, shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard) }],
      orders: { closedKeptMax: CLOSED_KEPT_MAX, closedKeptMs: 24 * 60 * 60 * 1000, archiveKeptMs: ARCHIVE_KEPT_MS },
    }),
  );
  const config = loadClusterConfig(configPath, {});
  const logger = createLogger({ level: "error", fields: { component: "soak" } });
  const storage = await openNodeStorage(config, NODE_ID, logger);
  const venue = new SimulatedVenue({ seed: 1, now: Date.now, manual: true });
  const shards = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
  const node = await OmsNode.start({
    ...configuredNodeOptions(config, NODE_ID, shards, storage, venue, logger),
    onFatal: (error) => {
      throw error;
    },
  });
  // Served as `oms node` serves it (start-node.ts), with the manual venue the mix needs.
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const server = await serveRpc({
    host: "127.0.0.1",
    port: nodePort,
    logger,
    unaryCalls: executeCalls(node, () => Bun.randomUUIDv7()),
    limits: { ...CONNECTION_LIMITS_DEFAULT, idleTimeoutMs: 0 },
    routes: (router) => {
      nodeServiceRoutes(node)(router);
      registerHealth(router, health);
    },
  });
  const accountIds = Array.from({ length: ACCOUNTS }, (_, index) => `soak-${index}`);
  for (const accountId of accountIds) {
    await node.commit({ kind: "create_account", accountId, atMs: node.clock() }, () => null);
    await node.commit({ kind: "deposit", accountId, amount: 1_000_000_000n * CASH_SCALE, atMs: node.clock() }, () => null);
  }
  const probe = await ProbeProcess.start(configPath, await issueClusterKey(config, ADMIN));
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
  const sampler = new MemorySampler();
  const archive = storage.archive as SqliteOrderArchive;
  let archiveWritesBefore = archive.writeCount();
  console.log(
    `soak: ${ORDERS.toLocaleString("en-US")} orders at ${RATE_PER_S.toLocaleString("en-US")}/s, ${ACCOUNTS} accounts, ${CLOSED_KEPT_MAX} closed kept per account, ` +
      `${OPEN_ORDERS_HELD.toLocaleString("en-US")} open; probe ${PROBE_RATE_PER_S}/s through a balancer; memory every ${SAMPLE_MS} ms (min/median/max of the window's samples, MiB)`,
  );
  console.log("orders      rss min/med/max   heap min/med/max  other_anon  archive_MiB writes | node p50/p99/p99.9 µs   | e2e p50/p99/p99.9 µs    | achieved/s errors");
  for (let window = 0; window * WINDOW_ORDERS < ORDERS; window += 1) {
    const count = Math.min(WINDOW_ORDERS, ORDERS - window * WINDOW_ORDERS);
    const result = await runOpenLoop({
      ratePerSec: RATE_PER_S,
      durationMs: (count / RATE_PER_S) * 1000,
      warmupMs: window === 0 ? WARMUP_MS : 0,
      send,
      inFlightMax: IN_FLIGHT_MAX,
    });
    const samples = sampler.takeWindow();
    const figures: WindowFigures = {
      orders: submitted,
      rss: spreadOf(samples.map((sample) => sample.rss)),
      heap: spreadOf(samples.map((sample) => sample.heap)),
      otherAnon: spreadOf(samples.map((sample) => sample.otherAnon)),
      samples: samples.length,
      archiveMiB: mib(fileBytes(join(dataDir, NODE_ID, "archive.sqlite")) + fileBytes(join(dataDir, NODE_ID, "archive.sqlite-wal"))),
      archiveWrites: archive.writeCount() - archiveWritesBefore,
      node: result.latency,
      achievedPerS: Math.round(result.achievedPerSec),
      errors: result.errors,
      probe: await probe.request({ op: "window" }),
    };
    archiveWritesBefore += figures.archiveWrites;
    windows.push(figures);
    console.log(windowLine(figures));
    if (result.overloaded) {
      console.log("soak: overloaded (in flight reached its bound); stopping");
      break;
    }
  }
  sampler.stop();
  probe.stop();
  // The venue must not be closed under a cancel the log has not confirmed yet.
  while (cancelsInFlight > 0) await Bun.sleep(10);
  await Bun.sleep(100);
  await server.close();
  await node.close();
  await node.release();
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
  summarize(windows);
  if (firstError !== null) console.log(`first error: ${firstError}`);
}

/** Reads the process's memory every SAMPLE_MS; each window takes the samples since the last. */
class MemorySampler {
  private samples: MemorySample[] = [];
  private readonly timer = setInterval(() => this.samples.push(memorySample()), SAMPLE_MS);

  takeWindow(): MemorySample[] {
    // A window shorter than a sample interval still has its reading.
    if (this.samples.length === 0) this.samples.push(memorySample());
    const taken = this.samples;
    this.samples = [];
    return taken;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function memorySample(): MemorySample {
  const usage = process.memoryUsage();
  // The kernel's own split of the resident set (counters, not a walk of the page tables).
  const status = readFileSync("/proc/self/status", "utf8");
  const anonKiB = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { rss: mib(usage.rss), heap: mib(usage.heapUsed), otherAnon: mib(anonKiB * 1024 - usage.heapTotal) };
}

/** The probe process and its balancer; asked over IPC, one answer per request, in order. */
class ProbeProcess {
  private readonly waiting: ((answer: unknown) => void)[] = [];
  private readonly child: Subprocess;
  private stderr = "";

  private constructor(configPath: string, adminKey: string) {
    const child = Bun.spawn([process.execPath, "bench/soak-probe.ts", "--config", configPath, "--api-key", adminKey, "--rate", String(PROBE_RATE_PER_S)], {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "pipe",
      ipc: (answer) => this.waiting.shift()?.(answer),
    });
    this.child = child;
    // The last of what it wrote, for the error that explains its death.
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.stderr = (this.stderr + decoder.decode(chunk, { stream: true })).slice(-8192);
    })();
  }

  static async start(configPath: string, adminKey: string): Promise<ProbeProcess> {
    const probe = new ProbeProcess(configPath, adminKey);
    await probe.request({ op: "start" });
    return probe;
  }

  async request<Answer>(request: ProbeRequest): Promise<Answer> {
    const { promise, resolve } = Promise.withResolvers<unknown>();
    this.waiting.push(resolve);
    this.child.send(request);
    const exited = this.child.exited.then((code) => {
      throw new Error(`soak probe exited (${code}) before answering ${request.op}:\n${this.stderr}`);
    });
    return (await Promise.race([promise, exited])) as Answer;
  }

  stop(): void {
    this.child.disconnect();
  }
}

function windowLine(w: WindowFigures): string {
  const triple = (s: SampleSpread) => `${s.min}/${s.median}/${s.max}`.padStart(14);
  const latency = (l: LatencySummary) => `${l.p50_us}/${l.p99_us}/${l.p999_us}`.padStart(22);
  const probeErrors = w.probe.errors + w.probe.cancelErrors + w.probe.dropped;
  return [
    w.orders.toLocaleString("en-US").padEnd(11),
    triple(w.rss),
    ` ${triple(w.heap)}`,
    pad(w.otherAnon.median, 11),
    pad(w.archiveMiB, 12),
    pad(w.archiveWrites, 7),
    ` | ${latency(w.node)}`,
    ` | ${latency(w.probe.latency)}`,
    ` | ${pad(w.achievedPerS, 10)} ${w.errors}${probeErrors === 0 ? "" : ` (probe: ${w.probe.errors} submits, ${w.probe.cancelErrors} cancels failed, ${w.probe.dropped} dropped; ${w.probe.firstError})`}`,
  ].join("");
}

/**
 * The rows for BENCHMARKS.md. RSS: the windows' medians from the second window on (retention
 * fills in the first), spread (max − min) / min. End-to-end p99: trendOf over the windows from
 * the second on (the first holds the JIT's warm-up and the archive's first fill).
 */
function summarize(windows: readonly WindowFigures[]): void {
  const steady = windows.slice(1);
  if (steady.length < 3) {
    console.log("(fewer than 4 windows: no spread or trend judged)");
    return;
  }
  const medians = steady.map((w) => w.rss.median);
  const maxima = steady.map((w) => w.rss.max);
  const spread = relativeSpread(medians);
  const e2eP99 = steady.map((w) => w.probe.latency.p99_us);
  const trend = trendOf(e2eP99);
  const total = windows[windows.length - 1]?.orders ?? 0;
  const each = WINDOW_ORDERS.toLocaleString("en-US");
  const list = (values: readonly number[]) => values.join(", ");
  const rssRow =
    `| soak | node RSS over ${total.toLocaleString("en-US")} orders, open/close mix at ${RATE_PER_S.toLocaleString("en-US")}/s: windows' median | ${Math.max(...medians)} MiB max | spread <= ${RSS_SPREAD_MAX * 100}% | ${spread <= RSS_SPREAD_MAX ? "yes" : "**no**"} | ` +
    `median of each window's ${SAMPLE_MS / 1000} s samples (no forced collection), per ${each} orders (MiB): ${list(windows.map((w) => w.rss.median))}; spread from the 2nd window ${(spread * 100).toFixed(1)}%; ` +
    `window max: ${list(windows.map((w) => w.rss.max))} (spread from the 2nd ${(relativeSpread(maxima) * 100).toFixed(1)}%); JS heap median/max: ${windows.map((w) => `${w.heap.median}/${w.heap.max}`).join(", ")}; ` +
    `other anonymous memory (SQLite caches, allocators, threads) median: ${list(windows.map((w) => w.otherAnon.median))}; ${ACCOUNTS} accounts, ${CLOSED_KEPT_MAX} closed orders kept each, ${OPEN_ORDERS_HELD.toLocaleString("en-US")} open; \`bun run soak\` |`;
  const p99Row =
    `| soak | e2e SubmitOrder p99 through a balancer at a fixed ${PROBE_RATE_PER_S}/s beside the ${RATE_PER_S.toLocaleString("en-US")}/s load: rise over the run | ${Math.round(trend.rise).toLocaleString("en-US")} µs | no growth | ${trend.grows ? "**no**" : "yes"} | ` +
    `least-squares line through the windows' p99 from the 2nd; growth = a rise above 2 standard errors (±${Math.round(trend.noise).toLocaleString("en-US")} µs); ` +
    `e2e p99 per ${each} orders (µs): ${list(windows.map((w) => w.probe.latency.p99_us))}; p50: ${list(windows.map((w) => w.probe.latency.p50_us))}; ` +
    `node-level submit p99 (the driver, in the node's process): ${list(windows.map((w) => w.node.p99_us))}; probe: connect-es, Connect binary over HTTP/2, bench/soak-probe.ts, ` +
    `${sum(windows.map((w) => w.probe.latency.count)).toLocaleString("en-US")} orders timed, ${sum(windows.map((w) => w.probe.errors + w.probe.dropped))} failed or dropped, ${sum(windows.map((w) => w.probe.cancelErrors))} cancels failed |`;
  console.log(`\n${rssRow}\n${p99Row}`);
  // bench/lib/report.ts puts these rows in BENCHMARKS.md's table whenever \`bun run bench\` writes it.
  if (ORDERS === ORDERS_DEFAULT) writeFileSync(join(import.meta.dir, "soak.md"), `${rssRow}\n${p99Row}\n`);
  else console.log("(a shorter run than the default: bench/soak.md not written)");
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
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
