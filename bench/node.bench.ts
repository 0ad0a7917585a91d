// The node level: a command to its durable acknowledgement through one OmsNode in this process,
// its storage opened as `oms node` opens it: the embedded SQLite log (committed on its writer
// thread) and the Kafka log (librdkafka's mock cluster, in this process too), snapshots and
// shard claims in SQLite. The mock broker runs on librdkafka's own threads, never on the node's
// main thread, and costs about 1% of the CPU an order takes (each max-throughput note gives the
// CPU per order of the main thread, the mock broker's threads and the rest), so it stays in this
// process: the figure is the node's, give or take that 1%. Two ways in: node.commit() with a ready core command (decide, apply, log, ack), and the
// node's Connect handler path as the balancer reaches it (NodeLink batching one Execute per
// event-loop turn, the Connect protocol and protobuf both ways, the commit pipeline's parsing and
// rendering), over HTTP/2 on a loopback port served as `oms node` serves it (its lean Execute
// path included). Both ends run in this process, so they share its event loop and cores.
//
// Every order is a DAY limit buy of 1 share at $100, below every listed price: it rests at the
// manual venue and never fills, so each order is exactly one log record.
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { NodeLink } from "../src/balancer/node-link.ts";
import { openNodeStorage } from "../src/cli/node-storage.ts";
import { configuredNodeOptions } from "../src/cli/start-node.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../src/config/cluster-config.ts";
import { parseClusterConfig } from "../src/config/parse-cluster-config.ts";
import { CASH_SCALE } from "../src/core/money.ts";
import type { SubmitOrder } from "../src/core/command.ts";
import { NodeCommandSchema, type NodeCommand } from "../src/gen/oms/internal/v1/node_pb.ts";
import { OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";
import { KafkaMockCluster } from "../src/log/kafka-mock-cluster.ts";
import { executeCalls, nodeServiceRoutes } from "../src/node/node-service.ts";
import { OmsNode } from "../src/node/oms-node.ts";
import { createLogger } from "../src/rpc/logger.ts";
import { serveRpc } from "../src/rpc/serve.ts";
import { createNodeSession, createNodeTransport } from "../src/rpc/transport.ts";
import { SimulatedVenue } from "../src/venue/simulated-venue.ts";
import type { BenchLevel } from "./lib/level.ts";
import { runOpenLoop, type OpenLoopResult } from "./lib/open-loop.ts";
import { reportedLatency, summarizeOverload } from "./lib/overload-summary.ts";
import { median, spreadFigures, type Figure, type LatencyTargets } from "./lib/report.ts";
import { RUNS_PER_RATE } from "./lib/rate-runs.ts";
import { cpuPerOrderText, threadCpu } from "./lib/thread-cpu.ts";

const SHARD_COUNT = 16;
/** Orders spread over this many accounts: every shard busy, a few hundred orders per account at most. */
const ACCOUNTS = 4096;
const DEPOSIT_CASH = 100_000_000n * CASH_SCALE;
const SYMBOL = "AAPL";
/** $100: below every default listing (AAPL starts at $189.25), so no order ever fills. */
const LIMIT_PRICE = 100n * CASH_SCALE;
const LIMIT_PRICE_TEXT = "100";
/** The config default (snapshot.everyRecords): snapshots run during the measurement, as in a running node. */
const SNAPSHOT_EVERY_RECORDS = CLUSTER_DEFAULTS.snapshot.everyRecords;
const NODE_ID = "bench-node";

/** Closed-loop depth: four full log batches (4,096 records each) in flight, and far below the
 * Kafka log's pendingRecordsMax (100,000), at which it turns writes away. */
const IN_FLIGHT = 16_384;
/** Discarded closed-loop load first, so that the JIT and both logs' batching are warm. A count,
 * not a time: resting orders make snapshots dearer, so every trial must start on the same state. */
const WARMUP_ORDERS = 30_000;
const WARMUP_MS_MAX = 3_000;
/** Trials of the commit path (~5 s each at 30,000/s); the handler path gets one. */
const COMMIT_TRIALS = 2;
const HANDLER_TRIALS = 1;
/**
 * A trial is one snapshot cycle: every shard takes snapshot.everyRecords records, so it takes
 * each shard's snapshot once, and every trial pays for snapshots alike (a trial that missed
 * them would report a rate the node cannot keep). The rate counts from the IN_FLIGHT-th
 * acknowledgement (the pipeline full) to the last.
 */
const THROUGHPUT_TRIAL_ORDERS = SNAPSHOT_EVERY_RECORDS * SHARD_COUNT;
/** ...or stops after this long, whichever comes first, so a slow node keeps the level's budget. */
const THROUGHPUT_TRIAL_MS_MAX = 5_000;
/** Rising; the first rate the node cannot keep up with is the last one run. BENCH_NODE_RATES
 * (e.g. 500,2000,10000) replaces them: the low rates show the tail that batching cannot hide. */
const OPEN_LOOP_RATES_PER_S: readonly number[] = ratesFromEnvironment() ?? [10_000, 25_000, 50_000];
/** BENCH_NODE_LOGS (e.g. kafka) runs only those logs: comparing a change to one log takes half the time. */
const LOGS: readonly LogKind[] = logsFromEnvironment() ?? ["sqlite", "kafka"];
const OPEN_LOOP_WARMUP_MS = 500;
const OPEN_LOOP_MEASURE_MS = 2_000;
/** Issue 11: commit to durable ack on SQLite, p99 at 10,000/s. */
const COMMIT_TARGETS: ReadonlyMap<string, LatencyTargets> = new Map([["sqlite commit @ 10,000/s", { p99_us: 1_000 }]]);
/** An open-loop run past this many in flight is overloaded (the runner stops it). */
const OPEN_LOOP_IN_FLIGHT_MAX = 50_000;
const THROUGHPUT_TARGET_PER_S = 100_000;
const NODE_CALL_TIMEOUT_MS = CLUSTER_DEFAULTS.balancer.callTimeoutMs;

const quiet = { info() {}, warn() {}, error() {} };

type LogKind = "sqlite" | "kafka";
type Path = "commit" | "handler path";

const PATH_NOTES: Record<Path, string> = {
  commit: "node.commit(submit_order core command)",
  "handler path": "NodeLink batch → Connect binary over HTTP/2 on loopback (client and node in one process) → NodeService.Execute → the commit pipeline",
};

/** One node on a fresh log with ACCOUNTS funded accounts. */
interface BenchNode {
  readonly node: OmsNode;
  readonly accountIds: readonly string[];
  stop(): Promise<void>;
}

/** Sends order number i and resolves once it is acknowledged; rejects if it was refused. */
type Send = (index: number) => Promise<void>;

interface PathResults {
  /** Each rate's runs (RUNS_PER_RATE of them), rising. */
  openLoops: OpenLoopResult[][];
  throughputs: number[];
  throughputErrors: number;
  /** CPU per acknowledged order over the throughput trials, by thread, or null off Linux. */
  throughputCpu: string | null;
  firstError: string | null;
}

export const level: BenchLevel = {
  name: "node",
  budgetSeconds: 120,
  async run(log) {
    const figures: Figure[] = [];
    if (LOGS.includes("sqlite")) figures.push(...(await benchLog("sqlite", log, () => benchConfig())));
    if (!LOGS.includes("kafka")) return figures;
    const cluster = KafkaMockCluster.start({ brokers: 1 });
    try {
      let topics = 0;
      const kafkaConfig = () => {
        const topic = `oms.wal.bench.${++topics}`;
        cluster.createTopic(topic, SHARD_COUNT);
        return benchConfig({ brokers: cluster.bootstrapServers, topic });
      };
      figures.push(...(await benchLog("kafka", log, kafkaConfig)));
    } finally {
      cluster.stop();
    }
    return figures;
  },
};

/**
 * A fresh node for each path's throughput trials and another for its open-loop runs: resting
 * orders make snapshots dearer, so each measurement starts on a known state. A node takes at
 * most ~520,000 orders: the venue works at most 1,000,000, and spread over 16 partitions that
 * stays under the ~100,000 records a mock Kafka partition keeps.
 */
async function benchLog(kind: LogKind, log: (line: string) => void, config: () => ClusterConfig): Promise<Figure[]> {
  const figures: Figure[] = [];
  // The handler path adds the same work on either log: it is measured on SQLite alone.
  const paths: readonly Path[] = kind === "sqlite" ? ["commit", "handler path"] : ["commit"];
  for (const path of paths) {
    const load = loadAverage();
    const trials = path === "commit" ? COMMIT_TRIALS : HANDLER_TRIALS;
    const errors: { first: string | null } = { first: null };
    const throughput = await withBenchNode(config, (bench) => withPath(bench, path, errors, (send) => measureThroughput(send, trials)));
    log(`${kind} ${path} max throughput trials ${throughput.perSec.join(", ")} orders/s; CPU per order: ${throughput.cpu ?? "unknown"}${errors.first === null ? "" : `; first error: ${errors.first}`}`);
    const openLoops = await withBenchNode(config, (bench) => withPath(bench, path, errors, (send) => measureOpenLoops(send)));
    for (const runs of openLoops) for (const result of runs) log(`${kind} ${path} open loop ${describe(result)}`);
    const results = { openLoops, throughputs: throughput.perSec, throughputErrors: throughput.errors, throughputCpu: throughput.cpu, firstError: errors.first };
    figures.push(...pathFigures(`node.${kind}`, `${kind} ${path}`, path, results, load));
  }
  return figures;
}

async function measureThroughput(send: Send, trials: number): Promise<{ perSec: number[]; errors: number; cpu: string | null }> {
  await closedLoop(send, { ordersMax: WARMUP_ORDERS, msMax: WARMUP_MS_MAX });
  const perSec: number[] = [];
  let errors = 0;
  let acknowledged = 0;
  const cpuBefore = threadCpu();
  for (let trial = 0; trial < trials; trial++) {
    const result = await closedLoop(send, { ordersMax: THROUGHPUT_TRIAL_ORDERS, msMax: THROUGHPUT_TRIAL_MS_MAX });
    perSec.push(result.perSec);
    errors += result.errors;
    acknowledged += result.acknowledged;
  }
  return { perSec, errors, cpu: cpuPerOrderText(cpuBefore, threadCpu(), acknowledged) };
}

/** Rising rates, each run RUNS_PER_RATE times, until the first the node cannot keep up with (by its median run). */
async function measureOpenLoops(send: Send): Promise<OpenLoopResult[][]> {
  await closedLoop(send, { ordersMax: WARMUP_ORDERS, msMax: WARMUP_MS_MAX });
  const results: OpenLoopResult[][] = [];
  for (const ratePerSec of OPEN_LOOP_RATES_PER_S) {
    const runs: OpenLoopResult[] = [];
    for (let run = 0; run < RUNS_PER_RATE; run++) {
      runs.push(await runOpenLoop({ ratePerSec, durationMs: OPEN_LOOP_MEASURE_MS, warmupMs: OPEN_LOOP_WARMUP_MS, send, inFlightMax: OPEN_LOOP_IN_FLIGHT_MAX }));
    }
    results.push(runs);
    if (runs.filter(keptUp).length * 2 < runs.length) break;
  }
  return results;
}

function pathFigures(levelName: string, what: string, path: Path, results: PathResults, load: string): Figure[] {
  const errors = results.openLoops.flat().reduce((sum, result) => sum + result.errors, 0);
  const figures: Figure[] = [
    {
      level: levelName,
      name: `${what}: max throughput` + (results.throughputs.length > 1 ? ` (median of ${results.throughputs.length} trials)` : ""),
      value: median(results.throughputs),
      unit: "orders/s",
      ...(path === "commit" ? { target: { value: THROUGHPUT_TARGET_PER_S, comparison: ">=" as const } } : {}),
      note: `${PATH_NOTES[path]}; ${IN_FLIGHT} in flight, ${ACCOUNTS} accounts, ${SHARD_COUNT} shards, a trial is ${THROUGHPUT_TRIAL_ORDERS} orders (one snapshot of each shard); trials ${results.throughputs.join(" / ")}; load average ${load}` +
        (results.throughputCpu === null ? "" : `; CPU per order (this process, load generator included): ${results.throughputCpu}`) +
        (results.throughputErrors === 0 ? "" : `; ${results.throughputErrors} orders refused`) +
        (results.firstError === null ? "" : `; first error: ${results.firstError}`),
    },
  ];
  const sustained = results.openLoops.flat().filter(keptUp).map((result) => result.ratePerSec);
  const sustainedPerSec = sustained.length === 0 ? null : Math.max(...sustained);
  for (const runs of results.openLoops) {
    const rate = `${what} @ ${(runs[0]?.ratePerSec ?? 0).toLocaleString("en-US")}/s`;
    figures.push(...latencyFigures(levelName, rate, runs, sustainedPerSec, COMMIT_TARGETS.get(rate) ?? {}));
  }
  if (errors > 0) figures.push({ level: levelName, name: `${what}: open-loop errors`, value: errors, unit: "orders", note: results.firstError ?? "" });
  return figures;
}

/** The cluster file of a one-node cluster on a fresh data directory; the log on Kafka if given. */
function benchConfig(kafka?: { brokers: string; topic: string }): ClusterConfig {
  return parseClusterConfig({
    shardCount: SHARD_COUNT,
    dataDir: mkdtempSync(join(tmpdir(), "oms-bench-node-")),
    logLevel: "error",
    // The port is never listened on: the bench calls the node in this process.
    nodes: [{ id: NODE_ID, host: "127.0.0.1", port: 9101, shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard) }],
    ...(kafka === undefined ? {} : { kafka: { ...kafka, clientId: "oms-bench" } }),
  });
}

async function withBenchNode<T>(config: () => ClusterConfig, work: (bench: BenchNode) => Promise<T>): Promise<T> {
  const bench = await startBenchNode(config());
  try {
    return await work(bench);
  } finally {
    await bench.stop();
  }
}

/**
 * As `oms node` starts one (src/cli/start-node.ts): its storage from the configuration, the
 * configured snapshot interval, lease and ack timeout; but a manual venue, which never fills.
 */
async function startBenchNode(config: ClusterConfig): Promise<BenchNode> {
  const logger = createLogger({ level: config.logLevel, fields: { component: "bench-node" } });
  const storage = await openNodeStorage(config, NODE_ID, logger);
  const venue = new SimulatedVenue({ seed: config.venue.seed, now: Date.now, manual: true });
  const shards = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
  const node = await OmsNode.start({
    ...configuredNodeOptions(config, NODE_ID, shards, storage, venue, logger),
    onFatal: (error) => {
      throw error;
    },
  });
  const accountIds = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${i}`);
  await fundAccounts(node, accountIds);
  return {
    node,
    accountIds,
    stop: async () => {
      await node.close();
      await node.release();
      await storage.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

async function fundAccounts(node: OmsNode, accountIds: readonly string[]): Promise<void> {
  const created = accountIds.map((accountId) => node.commit({ kind: "create_account", accountId, atMs: node.clock() }, () => null));
  const funded = accountIds.map((accountId) => node.commit({ kind: "deposit", accountId, amount: DEPOSIT_CASH, atMs: node.clock() }, () => null));
  for (const outcome of await Promise.all([...created, ...funded])) {
    if (!outcome.ok) throw new Error(`bench: funding an account was refused: ${outcome.rejection.message}`);
  }
}

/**
 * Runs work with a sender for the path; the sender notes the first failure's message in
 * errors (the open-loop runner only counts failures) and passes the failure on.
 */
async function withPath<T>(bench: BenchNode, path: Path, errors: { first: string | null }, work: (send: Send) => Promise<T>): Promise<T> {
  const noting = (send: Send): Send => (index) =>
    send(index).catch((error: unknown) => {
      errors.first ??= error instanceof Error ? error.message : String(error);
      throw error;
    });
  if (path === "commit") return work(noting(commitSender(bench)));
  return withHandlerPath(bench, (send) => work(noting(send)));
}

/**
 * node.commit() with the core command built here; the render is the cheapest a reply can have.
 * Order ids are the node's own kind (UUIDv7, as `oms node` makes them), fresh for every
 * order: a reused client order id would be an idempotent resubmission, written nowhere.
 */
function commitSender(bench: BenchNode): Send {
  const { node, accountIds } = bench;
  return async (index) => {
    const orderId = Bun.randomUUIDv7();
    const command: SubmitOrder = {
      kind: "submit_order",
      accountId: accountIds[index % accountIds.length] as string,
      orderId,
      clientOrderId: orderId,
      symbol: SYMBOL,
      side: "buy",
      type: "limit",
      timeInForce: "day",
      qty: 1n,
      limitPrice: LIMIT_PRICE,
      stopPrice: null,
      askPrice: 0n,
      atMs: node.clock(),
    };
    const outcome = await node.commit(command, (_account, duplicateOf) => duplicateOf);
    if (!outcome.ok) throw new Error(`order ${orderId} refused: ${outcome.rejection.message}`);
    if (outcome.value !== null) throw new Error(`order ${orderId} was taken for a resubmission of ${outcome.value}: nothing was written`);
  };
}

/**
 * The path a balancer's call takes to the node: NodeLink gathers the calls of one turn into
 * one Execute and sends it over HTTP/2 to a loopback port that the node serves as `oms node`
 * does (Execute on its lean Connect path, the rest on connect-es). NodeLink speaks HTTP/2
 * to a URL, so an in-memory transport cannot stand in for the socket.
 */
async function withHandlerPath<T>(bench: BenchNode, work: (send: Send) => Promise<T>): Promise<T> {
  const newId = () => Bun.randomUUIDv7();
  const server = await serveRpc({
    host: "127.0.0.1",
    port: 0,
    unaryCalls: executeCalls(bench.node, newId),
    routes: nodeServiceRoutes(bench.node),
  });
  const url = `http://127.0.0.1:${server.port}`;
  const session = createNodeSession(url);
  const transport = createNodeTransport(url, { timeoutMs: NODE_CALL_TIMEOUT_MS, session });
  const link = new NodeLink({ id: "bench", url, shards: [] }, transport, quiet, NODE_CALL_TIMEOUT_MS);
  const { accountIds } = bench;
  const send: Send = async (index) => {
    const command: NodeCommand = create(NodeCommandSchema, {
      command: {
        case: "submitOrder",
        value: {
          accountId: accountIds[index % accountIds.length] as string,
          symbol: SYMBOL,
          side: Side.BUY,
          type: OrderType.LIMIT,
          timeInForce: TimeInForce.DAY,
          qty: "1",
          limitPrice: LIMIT_PRICE_TEXT,
        },
      },
    });
    const result = (await link.answer(command)).valueOf("submitOrder");
    if (result instanceof ConnectError) throw new Error(`order ${index} answered ${result.rawMessage}`);
  };
  try {
    return await work(send);
  } finally {
    link.close();
    session.abort();
    await server.close();
  }
}

interface ClosedLoopResult {
  perSec: number;
  acknowledged: number;
  /** Orders refused: a log that falls behind turns writes away (UNAVAILABLE) rather than queue them. */
  errors: number;
}

/**
 * Closed loop at a fixed depth: every turn of the event loop tops the orders in flight up to
 * IN_FLIGHT. The rate counts from the IN_FLIGHT-th acknowledgement, once the pipeline is full,
 * to the last one, after ordersMax orders or msMax, whichever comes first.
 */
async function closedLoop(send: Send, bounds: { ordersMax: number; msMax: number }): Promise<ClosedLoopResult> {
  let inFlight = 0;
  let sent = 0;
  let acknowledged = 0;
  let errors = 0;
  let fullAtMs = 0;
  let lastAtMs = 0;
  const end = performance.now() + bounds.msMax;
  const onAck = () => {
    inFlight -= 1;
    acknowledged += 1;
    lastAtMs = performance.now();
    if (acknowledged === IN_FLIGHT) fullAtMs = lastAtMs;
  };
  const onFail = () => {
    inFlight -= 1;
    errors += 1;
  };
  while (sent < bounds.ordersMax && performance.now() < end) {
    while (inFlight < IN_FLIGHT && sent < bounds.ordersMax) {
      inFlight += 1;
      send(sent++).then(onAck, onFail);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (inFlight > 0) await Bun.sleep(1);
  const perSec = acknowledged <= IN_FLIGHT || lastAtMs <= fullAtMs ? 0 : Math.round((acknowledged - IN_FLIGHT) / ((lastAtMs - fullAtMs) / 1000));
  return { perSec, acknowledged, errors };
}

/** A rate's rows: the median of its runs, every run in the note; for a run that did not keep up, what it did. */
function latencyFigures(levelName: string, what: string, runs: readonly OpenLoopResult[], sustainedPerSec: number | null, targets: LatencyTargets): Figure[] {
  const notes = runs.map((result, i) => {
    const { wholeRun } = reportedLatency(result);
    return (
      `run ${i + 1}: achieved ${result.achievedPerSec}/s` +
      (result.errors > 0 ? `, ${result.errors} errors` : "") +
      (result.overloaded ? `, OVERLOADED (${OPEN_LOOP_IN_FLIGHT_MAX} in flight)` : "") +
      (keptUp(result) ? "" : `; ${summarizeOverload(result, sustainedPerSec).text}`) +
      (wholeRun ? "; latencies over the whole run: none was answered in the measured window" : "")
    );
  });
  const note = `open loop, ${OPEN_LOOP_MEASURE_MS / 1000} s after ${OPEN_LOOP_WARMUP_MS / 1000} s warm-up, one run after another on one node; ${notes.join("; ")}`;
  return spreadFigures(levelName, what, runs.map((result) => reportedLatency(result).latency), targets, note);
}

/** Overloaded, failing, or short of 95% of the rate asked for. */
function keptUp(result: OpenLoopResult): boolean {
  return !result.overloaded && result.errors === 0 && result.achievedPerSec >= 0.95 * result.ratePerSec;
}

function describe(result: OpenLoopResult): string {
  const { latency } = reportedLatency(result);
  return (
    `@ ${result.ratePerSec}/s: achieved ${result.achievedPerSec}/s, p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, ` +
    `p99.9 ${latency.p999_us} µs, max ${latency.max_us} µs` +
    (result.errors > 0 ? `, ${result.errors} errors` : "") +
    (result.overloaded ? " (overloaded)" : "")
  );
}

/** BENCH_NODE_RATES=500,2000 runs the open loops at those rates instead of the default ones. */
function ratesFromEnvironment(): number[] | null {
  const text = process.env["BENCH_NODE_RATES"];
  if (text === undefined || text.trim() === "") return null;
  const rates = text.split(",").map((rate) => Number(rate.trim()));
  if (!rates.every((rate) => Number.isSafeInteger(rate) && rate > 0)) throw new Error(`node: BENCH_NODE_RATES must be positive integers separated by commas, got ${text}`);
  return rates;
}

/** BENCH_NODE_LOGS=kafka runs only the Kafka log's rows (sqlite, kafka, or both separated by a comma). */
function logsFromEnvironment(): LogKind[] | null {
  const text = process.env["BENCH_NODE_LOGS"];
  if (text === undefined || text.trim() === "") return null;
  const logs = text.split(",").map((kind) => kind.trim());
  const known: readonly string[] = ["sqlite", "kafka"];
  if (!logs.every((kind) => known.includes(kind))) throw new Error(`node: BENCH_NODE_LOGS must be sqlite, kafka or both separated by a comma, got ${text}`);
  return logs as LogKind[];
}

/** The machine is shared and noisy: each result says how busy it was. */
function loadAverage(): string {
  return `${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`;
}
