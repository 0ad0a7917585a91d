// The e2e level: a Connect client → balancer → node → SQLite log → acknowledgement, over
// loopback, every part a process of its own as an operator runs them: `oms node`, `oms balancer`
// and load generators (bench/e2e-load.ts) driving OrderService.SubmitOrder open-loop.
//
//   1. unary SubmitOrder, lean client, at the target rates: RUNS_PER_RATE runs each (a row is
//      their median, the note every run's value), each rate's per-hop budget from the node's and
//      the balancer's /metrics (bench/lib/stage-budget.ts);
//   2. the ceiling: a rising ladder above them, then bisection; the highest sustained rate run
//      RUNS_PER_RATE times more for its own rows;
//   3. overload: twice the highest sustained rate, RUNS_PER_RATE times, each call with a 1 s
//      deadline: the p99 of what was admitted, the share refused and with what code, how fast
//      refusals came back, the balancer's peak memory, and an audit that no order answered
//      deadline_exceeded was placed (issue 10's overload check);
//   4. the same orders on SubmitOrders streams, target rates and a ladder above;
//   5. an independent client: connect-es's own (Connect JSON over HTTP/1.1, as users call it)
//      against oms and against a server that answers at once (bench/instant-server.ts), runs
//      interleaved, so the row reads "oms p99 − instant-server p99".
// Parts 1-3, 4 and 5 each start on a fresh cluster (withCluster).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClusterConfig } from "../src/config/load-cluster-config.ts";
import { freePort } from "../src/rpc/free-port.ts";
import { ADMIN, issueClusterKey } from "../test/support/api-keys.ts";
import { BenchProcesses, waitServing } from "./lib/bench-processes.ts";
import type { BenchLevel } from "./lib/level.ts";
import { LoadDriver } from "./lib/load-driver.ts";
import { admissionFigures } from "./lib/overload-summary.ts";
import {
  findCeiling,
  highestSustained,
  JIT_WARMUP,
  latenciesOf,
  LOAD_ACCOUNTS,
  lowestNotSustained,
  medianRun,
  RATE_RUN,
  ratesFromEnvironment,
  repeatedRuns,
  risingRates,
  runNote,
  runRate,
  runsNote,
  RUNS_PER_RATE,
  inFlightMaxAt,
  keptUp,
  type RateRun,
  type RunTarget,
} from "./lib/rate-runs.ts";
import { median, spreadFigures, type Figure, type LatencyTargets } from "./lib/report.ts";
import { stageBudgetFigures, type BudgetProcess } from "./lib/stage-budget.ts";
import type { BalancerStage } from "../src/metrics/balancer-metrics.ts";
import type { NodeStage } from "../src/metrics/node-metrics.ts";

const SHARD_COUNT = 16;
/** Issue 11's targets for unary SubmitOrder through the balancer, lean client. */
const UNARY_TARGETS: ReadonlyMap<number, LatencyTargets> = new Map([
  [1_000, { p99_us: 1_500, p999_us: 3_000 }],
  [2_000, { p99_us: 1_500, p999_us: 3_000 }],
  [5_000, { p99_us: 3_000 }],
]);
const STREAM_TARGETS: ReadonlyMap<number, LatencyTargets> = new Map([
  [5_000, { p99_us: 3_000 }],
  [10_000, { p99_us: 3_000 }],
]);
/**
 * Each stage's share of a 1.5 ms p99 (on the histograms' bucket bounds, so that a stage's p99
 * can be read as within it or not): the balancer's four stages leave 300 µs for the client's
 * hop to it, the node's six leave 75 µs of the balancer's node_round_trip for the link's wire.
 * A stage over its share is where that rate's p99 target is lost. A 3 ms target doubles each
 * share (batching's 400 rounded up to the 500 bound: the node's stages still sum to under 2 ms).
 */
const STAGE_SHARES_AT_1500_US: Readonly<Record<BalancerStage | NodeStage, number>> = {
  route: 50,
  link_queue: 100,
  node_round_trip: 1_000,
  answer: 50,
  queued: 25,
  decide: 50,
  batching: 200,
  durable: 500,
  handback: 50,
  reply: 100,
};
const STAGE_SHARES_AT_3000_US: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(STAGE_SHARES_AT_1500_US).map(([stage, us]) => [stage, us * 2])),
  batching: 500,
};
const STAGE_SHARES_BY_P99_TARGET: ReadonlyMap<number, Readonly<Record<string, number>>> = new Map([
  [1_500, STAGE_SHARES_AT_1500_US],
  [3_000, STAGE_SHARES_AT_3000_US],
]);
/** BENCH_E2E_RATES, BENCH_E2E_STREAM_RATES, BENCH_E2E_JSON_RATES replace these; "none" skips a part. */
const UNARY_RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_RATES") ?? [...UNARY_TARGETS.keys()];
const STREAM_RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_STREAM_RATES") ?? [...STREAM_TARGETS.keys()];
const JSON_CLIENT_RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_JSON_RATES") ?? [1_000, 2_000];
/** Above the target rates, one run each, rising until one is not kept up; then bisection. */
const UNARY_LADDER_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_LADDER") ?? [7_500, 10_000, 12_500, 15_000, 20_000, 30_000];
const STREAM_LADDER_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_STREAM_LADDER") ?? [12_500, 15_000, 20_000, 25_000, 30_000, 40_000];
/** SubmitOrders streams the load generator opens for a run: a client's few sessions. */
const STREAMS = 2;
const SUSTAINED_TARGET_PER_S = 20_000;
/** Issue 11: connect-es's client measures oms within this of a server that answers at once. */
const INDEPENDENT_CLIENT_GAP_TARGET_US = 1_000;
/**
 * The deadline each call of an overload run carries, as a client that gives up would: past it
 * the balancer or the node must answer deadline_exceeded having done nothing (issue 10), which
 * the audit after the runs checks by listing every account's orders.
 */
const OVERLOAD_DEADLINE_MS = 1_000;
/** The latency bound the headline figure is about. */
const P99_BOUND_US = 1_500;
/**
 * The lean loader's transport: HTTP/2, one multiplexed connection (measured ~190 µs of client
 * CPU per call against ~240 for connect-node's HTTP/1.1 client, a keep-alive socket per call in
 * flight). BENCH_E2E_CLIENT=connect-es puts connect-es (binary, HTTP/2) in its place, to compare
 * with figures taken before the lean clients.
 */
const CLIENT = process.env["BENCH_E2E_CLIENT"] ?? "lean";
const SYSTEM_ROLES = ["balancer", "node"] as const;

interface Cluster {
  processes: BenchProcesses;
  balancerUrl: string;
  nodeUrl: string;
  adminKey: string;
}

export const level: BenchLevel = {
  name: "e2e",
  budgetSeconds: 330,
  // Each part on a cluster of its own: every order rests, so a node that had taken the unary
  // part's ~400,000 orders would measure streams over a ledger and venue that large (stream p99
  // 48 ms at 5,000/s there, 7 ms on a fresh node).
  async run(log) {
    return [
      ...(await withCluster(async (cluster) => unaryFigures(cluster, await leanTarget(cluster, log), log))),
      ...(await withCluster(async (cluster) => streamFigures(cluster, await leanTarget(cluster, log), log))),
      ...(await withCluster((cluster) => independentClientFigures(cluster, log))),
    ];
  },
};

/** A fresh node and balancer for work, stopped and removed after it. */
async function withCluster<T>(work: (cluster: Cluster) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "oms-bench-e2e-"));
  const processes = new BenchProcesses();
  try {
    return await work(await startCluster(dataDir, processes));
  } finally {
    await processes.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function startCluster(dataDir: string, processes: BenchProcesses): Promise<Cluster> {
  const [nodePort, balancerPort] = [await freePort(), await freePort()];
  const configPath = writeConfig(dataDir, nodePort, balancerPort);
  const nodeUrl = `http://127.0.0.1:${nodePort}`;
  // --exit-with-parent: a node whose parent dies stops too, as under `oms dev`.
  await waitServing(nodeUrl, processes.start("node", ["src/cli/main.ts", "node", "--config", configPath, "--node-id", "node-a", "--exit-with-parent"]));
  // The loaders create and fund accounts, which needs an admin key; its limits are far above the rates run here.
  const adminKey = await issueClusterKey(loadClusterConfig(configPath, {}), ADMIN);
  const balancerUrl = `http://127.0.0.1:${balancerPort}`;
  await waitServing(balancerUrl, processes.start("balancer", ["src/cli/main.ts", "balancer", "--config", configPath]));
  return { processes, balancerUrl, nodeUrl, adminKey };
}

/** The lean loader, with the accounts funded and every process's JIT warm. */
async function leanTarget(cluster: Cluster, log: (line: string) => void): Promise<RunTarget> {
  const loader = new LoadDriver(
    cluster.processes.start("loader", ["bench/e2e-load.ts", "--url", cluster.balancerUrl, "--api-key", cluster.adminKey, "--accounts", String(LOAD_ACCOUNTS), "--http", "2", "--client", CLIENT], { stdoutIsProtocol: true }),
  );
  const funded = await loader.request({ op: "fund" });
  log(`${LOAD_ACCOUNTS} accounts created and funded in ${String(funded["ms"])} ms; SubmitOrder by ${CLIENT === "lean" ? "a lean Connect binary client over HTTP/2 (bench/lean-connect-client.ts)" : "connect-es (Connect binary over HTTP/2)"}`);
  await loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: inFlightMaxAt(JIT_WARMUP.ratePerSec) });
  return { processes: cluster.processes, loader, roles: [...SYSTEM_ROLES, "loader"] };
}

/** The rates' runs, each rate between two scrapes of both processes' /metrics for its budget. */
async function runRates(cluster: Cluster, rates: readonly number[], targets: ReadonlyMap<number, LatencyTargets>, run: (ratePerSec: number) => Promise<RateRun>, log: (line: string) => void, label: string): Promise<{ runs: RateRun[][]; budget: Figure[] }> {
  const runs: RateRun[][] = [];
  const budget: Figure[] = [];
  for (const ratePerSec of rates) {
    const before = await scrape(cluster, log);
    const done = await repeatedRuns(RUNS_PER_RATE, () => run(ratePerSec));
    const after = await scrape(cluster, log);
    runs.push(done);
    log(`${label} @ ${ratePerSec}/s: p99 ${latenciesOf(done).map((l) => l.p99_us).join(" / ")} µs; ${runsNote(done, null)}`);
    const processes: BudgetProcess[] = SYSTEM_ROLES.map((role) => ({ process: role, scrapes: { before: before[role], after: after[role] } }));
    const p99Target = targets.get(ratePerSec)?.p99_us;
    const shares = p99Target === undefined ? undefined : STAGE_SHARES_BY_P99_TARGET.get(p99Target);
    budget.push(...stageBudgetFigures("e2e.budget", `${label} @ ${ratePerSec.toLocaleString("en-US")}/s`, processes, shares));
  }
  return { runs, budget };
}

/**
 * Both processes' /metrics text; a scrape refused or failed reads as empty (every family "not
 * exposed", the reason logged), so a build without metrics still runs the level.
 */
async function scrape(cluster: Cluster, log: (line: string) => void): Promise<Record<(typeof SYSTEM_ROLES)[number], string>> {
  const text = async (url: string) => {
    try {
      const response = await fetch(`${url}/metrics`);
      if (response.ok) return await response.text();
      log(`GET ${url}/metrics answered HTTP ${response.status}: its budget rows read "not exposed"`);
    } catch (error) {
      log(`GET ${url}/metrics failed (${error instanceof Error ? error.message : String(error)}): its budget rows read "not exposed"`);
    }
    return "";
  };
  const [balancer, node] = await Promise.all([text(cluster.balancerUrl), text(cluster.nodeUrl)]);
  return { balancer, node };
}

async function unaryFigures(cluster: Cluster, target: RunTarget, log: (line: string) => void): Promise<Figure[]> {
  const run = (ratePerSec: number) => runRate(target, ratePerSec, RATE_RUN);
  const { runs: byRate, budget } = await runRates(cluster, UNARY_RATES_PER_S, UNARY_TARGETS, run, log, "SubmitOrder");
  const medians = byRate.map(medianRun);
  const ladder = await findCeiling(medians, UNARY_LADDER_PER_S, run, log, "SubmitOrder");
  const all = [...medians, ...ladder];
  const sustainedPerSec = highestSustained(all);
  const figures = byRate.flatMap((runs) => rateFigures("e2e", "SubmitOrder", runs, UNARY_TARGETS));
  let atCeiling: RateRun[] = byRate.find((runs) => runs[0]?.result.ratePerSec === sustainedPerSec) ?? [];
  if (sustainedPerSec !== null && atCeiling.length === 0) {
    atCeiling = await repeatedRuns(RUNS_PER_RATE, () => run(sustainedPerSec));
    log(`SubmitOrder @ ${sustainedPerSec}/s (the highest sustained): p99 ${latenciesOf(atCeiling).map((l) => l.p99_us).join(" / ")} µs; ${runsNote(atCeiling, sustainedPerSec)}`);
    figures.push(...rateFigures("e2e", "SubmitOrder", atCeiling, new Map()));
  }
  figures.push(...ceilingFigures(all, atCeiling, sustainedPerSec));
  if (sustainedPerSec !== null) figures.push(...(await overloadFigures(cluster, target, 2 * sustainedPerSec, log)));
  return [...figures, ...budget];
}

/**
 * Twice the highest sustained rate, RUNS_PER_RATE times, each call with a deadline: what was
 * admitted and how fast, what was refused, with which code and how fast; then the audit (no
 * order answered deadline_exceeded was placed) and the balancer's peak memory.
 */
async function overloadFigures(cluster: Cluster, target: RunTarget, ratePerSec: number, log: (line: string) => void): Promise<Figure[]> {
  const withDeadline = CLIENT === "lean";
  // Admitted or refused, every call is answered: the run must not stop at its own bound first.
  const shape = { ...RATE_RUN, inFlightMax: inFlightMaxAt(ratePerSec) * 6, ...(withDeadline ? { deadlineMs: OVERLOAD_DEADLINE_MS } : {}) };
  const runs = await repeatedRuns(RUNS_PER_RATE, () => runRate(target, ratePerSec, shape));
  log(`overload @ ${ratePerSec}/s: admitted p99 ${runs.map((r) => r.result.latency.p99_us).join(" / ")} µs, not admitted ${runs.map((r) => Object.entries(r.result.failed).map(([kind, l]) => `${l.count} ${kind}`).join(", ") || "none").join(" / ")}`);
  const what = `SubmitOrder @ ${ratePerSec.toLocaleString("en-US")}/s (2 × the highest sustained${withDeadline ? `, ${OVERLOAD_DEADLINE_MS.toLocaleString("en-US")} ms deadlines` : ""})`;
  const figures = admissionFigures("e2e.overload", what, runs.map((r) => r.result));
  figures.push({ level: "e2e.overload", name: "balancer peak RSS", value: peakRssMib(cluster.processes.pid("balancer")), unit: "MiB", note: "VmHWM after the overload runs: what the balancer held at its most, queued calls included" });
  if (!withDeadline) return figures;
  const audit = await target.loader.request({ op: "audit" });
  log(`audit: ${String(audit["orders"])} orders listed; ${String(audit["deadlineExceeded"])} answered deadline_exceeded, ${String(audit["deadlineExceededButPlaced"])} of them placed`);
  figures.push({
    level: "e2e.overload",
    name: "orders answered deadline_exceeded but placed",
    value: Number(audit["deadlineExceededButPlaced"]),
    unit: "orders",
    target: { value: 0, comparison: "<=" },
    note: `of ${Number(audit["deadlineExceeded"]).toLocaleString("en-US")} answered deadline_exceeded in the overload runs; every account's orders listed afterwards (${Number(audit["orders"]).toLocaleString("en-US")} orders)`,
  });
  return figures;
}

function peakRssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

function rateFigures(levelName: string, what: string, runs: readonly RateRun[], targets: ReadonlyMap<number, LatencyTargets>): Figure[] {
  const ratePerSec = runs[0]?.result.ratePerSec ?? 0;
  return spreadFigures(levelName, `${what} @ ${ratePerSec.toLocaleString("en-US")}/s`, latenciesOf(runs), targets.get(ratePerSec) ?? {}, runsNote(runs, null));
}

/** The ceiling's rows: highest sustained, the bracket above it, the CPU per order at it. */
function ceilingFigures(all: readonly RateRun[], atCeiling: readonly RateRun[], sustainedPerSec: number | null): Figure[] {
  const tried = `of the rates tried, in the order run (a target rate by its median run): ${all.map((run) => run.result.ratePerSec).join(", ")}/s`;
  const ceiling = lowestNotSustained(all);
  const saturation = ceiling === undefined ? "no rate tried overloaded it" : `not sustained at ${ceiling.result.ratePerSec}/s: ${runNote(ceiling, sustainedPerSec)}`;
  const withinBound = all.filter((run) => keptUp(run) && run.result.latency.p99_us < P99_BOUND_US);
  const figures: Figure[] = [
    { level: "e2e", name: `highest rate with p99 < ${P99_BOUND_US.toLocaleString("en-US")} µs`, value: Math.max(0, ...withinBound.map((run) => run.result.ratePerSec)), unit: "orders/s", note: tried },
    {
      level: "e2e",
      name: "highest sustained rate",
      value: sustainedPerSec ?? 0,
      unit: "orders/s",
      target: { value: SUSTAINED_TARGET_PER_S, comparison: ">=" },
      note: `not overloaded, no errors, ≥ 95% of the rate achieved; ${atCeiling.length === 0 ? "" : `its own runs: ${atCeiling.filter(keptUp).length} of ${atCeiling.length} kept up; `}${saturation}`,
    },
  ];
  if (ceiling !== undefined) figures.push({ level: "e2e", name: "lowest rate not sustained", value: ceiling.result.ratePerSec, unit: "orders/s", note: `the ceiling lies between the highest sustained rate and this one (a run's judgement is ±5%); ${tried}` });
  if (atCeiling.length > 0) {
    for (const role of [...SYSTEM_ROLES, "loader"]) {
      const values = atCeiling.map((run) => run.cpuPerOrderUs[role] ?? 0);
      figures.push({ level: "e2e", name: `${role} CPU per order`, value: median(values), unit: "µs", note: `at ${sustainedPerSec}/s, the highest rate sustained; median of ${values.length} runs: ${values.join(" / ")} µs` + (role === "loader" ? "; includes the open-loop runner's ticker thread" : "") });
    }
  }
  return figures;
}

async function streamFigures(cluster: Cluster, target: RunTarget, log: (line: string) => void): Promise<Figure[]> {
  if (STREAM_RATES_PER_S.length === 0) return [];
  const client = CLIENT === "lean" ? "a lean Connect binary client over HTTP/2, bench/lean-stream-submit-client.ts" : "connect-es, Connect binary over HTTP/2";
  log(`SubmitOrders: the same orders on ${STREAMS} streams (${client}), an account's orders always on one`);
  // The streaming code of the balancer and the loader has not been compiled yet either.
  await target.loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: inFlightMaxAt(JIT_WARMUP.ratePerSec), streams: STREAMS });
  const run = (ratePerSec: number) => runRate(target, ratePerSec, { ...RATE_RUN, streams: STREAMS });
  const { runs: byRate, budget } = await runRates(cluster, STREAM_RATES_PER_S, STREAM_TARGETS, run, log, "SubmitOrders stream");
  const medians = byRate.map(medianRun);
  const start = highestSustained(medians);
  const ladder = lowestNotSustained(medians) === undefined ? await risingRates(STREAM_LADDER_PER_S.filter((rate) => rate > (start ?? 0)), run, log, "SubmitOrders stream ladder") : [];
  const all = [...medians, ...ladder];
  const sustainedPerSec = highestSustained(all);
  const above = lowestNotSustained(all);
  return [
    ...byRate.flatMap((runs) => rateFigures("e2e", "SubmitOrders stream", runs, STREAM_TARGETS)),
    {
      level: "e2e",
      name: "SubmitOrders stream highest sustained rate",
      value: sustainedPerSec ?? 0,
      unit: "orders/s",
      note: `${STREAMS} streams; of the rates tried (one run each above the target rates): ${all.map((run) => run.result.ratePerSec).join(", ")}/s; ${above === undefined ? "no rate tried overloaded it" : `first not sustained at ${above.result.ratePerSec}/s: ${runNote(above, sustainedPerSec)}`}`,
    },
    ...budget,
  ];
}

/**
 * connect-es's own client (Connect JSON over HTTP/1.1) against oms and against a server that
 * answers at once, their runs interleaved (oms, instant, oms, …) so that the machine's drift
 * falls on both alike; the difference of their median p99s is what oms adds to that client.
 */
async function independentClientFigures(cluster: Cluster, log: (line: string) => void): Promise<Figure[]> {
  if (JSON_CLIENT_RATES_PER_S.length === 0) return [];
  const { processes } = cluster;
  const instantPort = await freePort();
  const instantUrl = `http://127.0.0.1:${instantPort}`;
  await waitServing(instantUrl, processes.start("instant-server", ["bench/instant-server.ts", "--port", String(instantPort)]));
  const jsonLoader = (role: string, url: string) =>
    new LoadDriver(processes.start(role, ["bench/e2e-load.ts", "--url", url, "--api-key", cluster.adminKey, "--accounts", String(LOAD_ACCOUNTS), "--http", "1.1", "--client", "connect-es", "--format", "json"], { stdoutIsProtocol: true }));
  const oms: RunTarget = { processes, loader: jsonLoader("json-loader", cluster.balancerUrl), roles: [...SYSTEM_ROLES, "json-loader"] };
  const instant: RunTarget = { processes, loader: jsonLoader("instant-loader", instantUrl), roles: ["instant-server", "instant-loader"] };
  // This part has a cluster of its own: its accounts are made here (the instant server needs none).
  await oms.loader.request({ op: "fund" });
  for (const target of [oms, instant]) await target.loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: inFlightMaxAt(JIT_WARMUP.ratePerSec) });
  const client = "connect-es, Connect JSON over HTTP/1.1";
  const figures: Figure[] = [];
  for (const ratePerSec of JSON_CLIENT_RATES_PER_S) {
    const omsRuns: RateRun[] = [];
    const instantRuns: RateRun[] = [];
    for (let i = 0; i < RUNS_PER_RATE; i++) {
      omsRuns.push(await runRate(oms, ratePerSec, RATE_RUN));
      instantRuns.push(await runRate(instant, ratePerSec, RATE_RUN));
    }
    const [omsP99, instantP99] = [omsRuns, instantRuns].map((runs) => median(latenciesOf(runs).map((l) => l.p99_us))) as [number, number];
    log(`${client} @ ${ratePerSec}/s: oms p99 ${latenciesOf(omsRuns).map((l) => l.p99_us).join(" / ")} µs, instant server p99 ${latenciesOf(instantRuns).map((l) => l.p99_us).join(" / ")} µs`);
    figures.push(
      ...rateFigures("e2e.connect-es", `SubmitOrder (${client}), oms`, omsRuns, new Map()),
      ...rateFigures("e2e.connect-es", `SubmitOrder (${client}), instant server`, instantRuns, new Map()),
      {
        level: "e2e.connect-es",
        name: `SubmitOrder (${client}) @ ${ratePerSec.toLocaleString("en-US")}/s: oms p99 − instant-server p99`,
        // A side with no run kept up has no p99 worth subtracting (its orders failed or queued).
        value: omsRuns.some(keptUp) && instantRuns.some(keptUp) ? omsP99 - instantP99 : null,
        unit: "µs",
        target: { value: INDEPENDENT_CLIENT_GAP_TARGET_US, comparison: "<=" },
        note: `${omsP99} − ${instantP99} µs, medians of ${RUNS_PER_RATE} interleaved runs each (kept up: oms ${omsRuns.filter(keptUp).length}, instant server ${instantRuns.filter(keptUp).length}); the instant server (bench/instant-server.ts) answers SubmitOrder at once on the same front (src/rpc/serve.ts)`,
      },
    );
  }
  return figures;
}

/** One node owning every shard, the embedded SQLite storage, the rest as the defaults have it. */
function writeConfig(dataDir: string, nodePort: number, balancerPort: number): string {
  const path = join(dataDir, "cluster.json");
  const config = {
    shardCount: SHARD_COUNT,
    dataDir,
    logLevel: "warn",
    balancer: { host: "127.0.0.1", port: balancerPort },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: nodePort, shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard) }],
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
