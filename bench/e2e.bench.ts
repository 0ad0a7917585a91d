// The e2e level: a Connect client → balancer → node → SQLite log → acknowledgement, over
// loopback, every part a process of its own as an operator runs them: `oms node`, `oms balancer`
// and a load generator (bench/e2e-load.ts) driving OrderService.SubmitOrder open-loop at rising
// rates until the system falls behind, then a few rates between the last one it kept up with and
// that one, to find where its ceiling lies; then, as a row of its own, the same orders on SubmitOrders
// streams (one session per client instead of a call per order). Each process's CPU over each run is read from /proc, so
// the report says which one saturated.
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadRequest } from "./e2e-load.ts";
import type { BenchLevel } from "./lib/level.ts";
import { searchCeiling, type CeilingSearch } from "./lib/ceiling-search.ts";
import type { OpenLoopResult } from "./lib/open-loop.ts";
import { reportedLatency, summarizeOverload } from "./lib/overload-summary.ts";
import type { Figure } from "./lib/report.ts";
import { freePort } from "../src/rpc/free-port.ts";
import { loadClusterConfig } from "../src/config/load-cluster-config.ts";
import { ADMIN, issueClusterKey } from "../test/support/api-keys.ts";
import { waitUntilServing } from "../src/rpc/wait-until-serving.ts";

const REPO_ROOT = join(import.meta.dir, "..");
const SHARD_COUNT = 16;
/** Pre-funded accounts the orders rotate over: every shard busy. */
const ACCOUNTS = 2048;
/** Rising; the first rate the system cannot keep up with is the last one run. */
const RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_RATES") ?? [500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 30_000];
/** The same for SubmitOrders streams (BENCH_E2E_STREAM_RATES); "none" skips either row. */
const STREAM_RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_E2E_STREAM_RATES") ?? [5_000, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000];
/** SubmitOrders streams the load generator opens for a run: a client's few sessions. */
const STREAMS = 2;
/**
 * Set, each process runs under `bun --cpu-prof` and writes its profile here when it stops: to
 * see where the time goes at the rates chosen with BENCH_E2E_RATES.
 */
const CPU_PROFILE_DIR = process.env["BENCH_E2E_CPU_PROF_DIR"];
/**
 * Unmeasured load before the first rate: JavaScriptCore keeps compiling (its JIT threads took
 * ~20% of a core in each process 5 s into a run), which would count as the first rates' CPU.
 */
const JIT_WARMUP = { ratePerSec: 2_000, warmupMs: 5_000, durationMs: 1_000 } as const;
const WARMUP_MS = 1_000;
const MEASURE_MS = 8_000;
/** Half a second of arrivals in flight means the system is not keeping up: the run stops. */
const IN_FLIGHT_SECONDS_MAX = 0.5;
const IN_FLIGHT_MIN = 1_000;
/** A rate achieved below this share of what was asked is a rate not kept up. */
const ACHIEVED_SHARE_MIN = 0.95;
/**
 * After the unary ladder: bisection between its highest sustained rate and its first rate not
 * sustained, until they are as close as the judgement of a run is fine (a 5% shortfall), at most
 * three runs (~30 s): 10,000 and 12,500/s become a bracket ~300/s wide.
 */
const CEILING_SEARCH: CeilingSearch = { resolutionShare: 1 - ACHIEVED_SHARE_MIN, probesMax: 3, stepPerSec: 125 };
/** The latency bound the headline figure is about. */
const P99_BOUND_US = 1_500;
const P99_AT_10K_TARGET_US = 1_000;
const SUSTAINED_TARGET_PER_S = 20_000;
/** HTTP/2, one multiplexed connection: measured ~190 µs of client CPU per call against ~240
 * for connect-node's HTTP/1.1 client (a keep-alive socket per call in flight). */
const CLIENT_HTTP_VERSION = "2";
/**
 * The load generator's clients: "lean" (the default) or "connect-es" (BENCH_E2E_CLIENT), to
 * see what a client costs or to compare with figures taken before the lean clients.
 */
const CLIENT = process.env["BENCH_E2E_CLIENT"] ?? "lean";

const SERVING_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;
const LOADER_REPLY_TIMEOUT_MS = 120_000;

type Role = "node" | "balancer" | "loader";
const ROLES: readonly Role[] = ["balancer", "node", "loader"];

/** A number for each process. */
type PerRole = Record<Role, number>;

interface RateRun {
  result: OpenLoopResult;
  firstError: string | null;
  /** CPU use over the measured window, in % of one core: all threads, and the main thread
   * alone (the event loop; JIT, GC and the SQLite writer have threads of their own). */
  cpu: PerRole;
  mainThreadCpu: PerRole;
  /** CPU time per acknowledged order over the measured window: robust to a noisy machine. */
  cpuPerOrderUs: PerRole;
  /** The run stopped before its window's end: its CPU is over all of it, per order it answered. */
  cpuOverWholeRun: boolean;
  loadAverage: number;
}

export const level: BenchLevel = {
  name: "e2e",
  budgetSeconds: 180,
  async run(log) {
    const dataDir = mkdtempSync(join(tmpdir(), "oms-bench-e2e-"));
    const processes = new Processes();
    try {
      const { unary, stream } = await measure(dataDir, processes, log);
      return [...(unary.length === 0 ? [] : figuresOf(unary)), ...streamFiguresOf(stream)];
    } finally {
      await processes.stopAll();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

async function measure(dataDir: string, processes: Processes, log: (line: string) => void): Promise<{ unary: RateRun[]; stream: RateRun[] }> {
  const [nodePort, balancerPort] = [await freePort(), await freePort()];
  const configPath = writeConfig(dataDir, nodePort, balancerPort);
  // --exit-with-parent: a node whose parent dies stops too, as under `oms dev`.
  const node = processes.start("node", ["src/cli/main.ts", "node", "--config", configPath, "--node-id", "node-a", "--exit-with-parent"]);
  await waitServing(`http://127.0.0.1:${nodePort}`, node);
  // The loader creates and funds its accounts, which needs an admin key; its limits are far above the rates run here.
  const adminKey = await issueClusterKey(loadClusterConfig(configPath, {}), ADMIN);
  const balancer = processes.start("balancer", ["src/cli/main.ts", "balancer", "--config", configPath]);
  await waitServing(`http://127.0.0.1:${balancerPort}`, balancer);
  const url = `http://127.0.0.1:${balancerPort}`;
  const loader = new Loader(processes.start("loader", ["bench/e2e-load.ts", "--url", url, "--api-key", adminKey, "--accounts", String(ACCOUNTS), "--http", CLIENT_HTTP_VERSION, "--client", CLIENT]));
  const funded = await loader.request({ op: "fund" });
  log(`${ACCOUNTS} accounts created and funded in ${String(funded["ms"])} ms; SubmitOrder by ${CLIENT === "lean" ? "a lean Connect binary client over HTTP/2 (bench/lean-connect-client.ts)" : "connect-es (Connect binary over HTTP/2)"}`);
  await loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: inFlightMaxAt(JIT_WARMUP.ratePerSec) });
  const runUnary = (ratePerSec: number) => runRate(loader, processes, ratePerSec, WARMUP_MS);
  const ladder = await risingRates(RATES_PER_S, runUnary, log);
  const unary = [...ladder, ...(await probeCeiling(ladder, runUnary, log))];
  if (STREAM_RATES_PER_S.length > 0) {
    const client = CLIENT === "lean" ? "a lean Connect binary client over HTTP/2, bench/lean-stream-submit-client.ts" : "connect-es, Connect binary over HTTP/2";
    log(`SubmitOrders: the same orders on ${STREAMS} streams (${client}), an account's orders always on one`);
    // The streaming code of the balancer and the loader has not been compiled yet either.
    await loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: inFlightMaxAt(JIT_WARMUP.ratePerSec), streams: STREAMS });
  }
  const stream = await risingRates(STREAM_RATES_PER_S, (ratePerSec) => runRate(loader, processes, ratePerSec, WARMUP_MS, STREAMS), log, "SubmitOrders stream ");
  return { unary, stream };
}

/** Each rate in turn, until one is not kept up (it is the last one run). */
async function risingRates(rates: readonly number[], run: (ratePerSec: number) => Promise<RateRun>, log: (line: string) => void, label = ""): Promise<RateRun[]> {
  const runs: RateRun[] = [];
  for (const ratePerSec of rates) {
    const done = await run(ratePerSec);
    runs.push(done);
    log(label + describe(done, highestSustained(runs)));
    if (!keptUp(done)) break;
  }
  return runs;
}

/** The ceiling search after a ladder that ended on a rate not kept up above one that was. */
async function probeCeiling(ladder: readonly RateRun[], run: (ratePerSec: number) => Promise<RateRun>, log: (line: string) => void): Promise<RateRun[]> {
  const sustainedPerSec = highestSustained(ladder);
  const last = ladder[ladder.length - 1];
  if (sustainedPerSec === null || last === undefined || keptUp(last)) return [];
  const probes: RateRun[] = [];
  await searchCeiling({ sustainedPerSec, notSustainedPerSec: last.result.ratePerSec }, CEILING_SEARCH, async (ratePerSec) => {
    const done = await run(ratePerSec);
    probes.push(done);
    log(`ceiling probe ${describe(done, highestSustained([...ladder, ...probes]))}`);
    return keptUp(done);
  });
  return probes;
}

/**
 * One open-loop run; each process's CPU is read when the measured window opens and closes (for
 * a run that stopped at its bound before the window's end, over all of it, warm-up and drain
 * included: its window is too short, or never opened).
 */
async function runRate(loader: Loader, processes: Processes, ratePerSec: number, warmupMs: number, streams?: number): Promise<RateRun> {
  const request: LoadRequest = { op: "run", ratePerSec, warmupMs, durationMs: MEASURE_MS, inFlightMax: inFlightMaxAt(ratePerSec) };
  const started = cpuReading(processes);
  const reply = loader.request(streams === undefined ? request : { ...request, streams });
  await Promise.race([Bun.sleep(warmupMs), reply]);
  const windowOpened = cpuReading(processes);
  const loadAverage = loadavg()[0] ?? 0;
  // The window closes at its end, or earlier if the run stopped overloaded.
  await Promise.race([Bun.sleep(MEASURE_MS), reply]);
  const windowClosed = cpuReading(processes);
  const answer = await reply;
  const result = answer["result"] as OpenLoopResult;
  // Stopped at its bound: from the run's start to its last answer, every answer counted.
  const stoppedEarly = result.overloaded;
  const [opened, closed] = stoppedEarly ? [started, cpuReading(processes)] : [windowOpened, windowClosed];
  const [before, mainBefore, after, mainAfter] = [opened.process, opened.mainThread, closed.process, closed.mainThread];
  const elapsedS = (closed.atMs - opened.atMs) / 1000;
  const orders = Math.max(1, stoppedEarly ? result.whole.latency.count : result.achievedPerSec * elapsedS);
  const cpu = perRole((role) => Math.round((100 * (after[role] - before[role])) / elapsedS));
  const mainThreadCpu = perRole((role) => Math.round((100 * (mainAfter[role] - mainBefore[role])) / elapsedS));
  const cpuPerOrderUs = perRole((role) => Math.round((1e6 * (after[role] - before[role])) / orders));
  return { result, firstError: (answer["firstError"] as string | null) ?? null, cpu, mainThreadCpu, cpuPerOrderUs, cpuOverWholeRun: stoppedEarly, loadAverage };
}

/** BENCH_E2E_RATES=5000,10000 runs only those rates: for comparing changes and for profiles. */
function ratesFromEnvironment(variable: string): number[] | null {
  const text = process.env[variable];
  if (text === undefined || text.trim() === "") return null;
  if (text.trim() === "none") return [];
  const rates = text.split(",").map((rate) => Number(rate.trim()));
  if (!rates.every((rate) => Number.isSafeInteger(rate) && rate > 0)) throw new Error(`e2e: ${variable} must be positive integers separated by commas, or none, got ${text}`);
  return rates;
}

function cpuReading(processes: Processes): { process: PerRole; mainThread: PerRole; atMs: number } {
  return { process: processes.cpuSeconds("process"), mainThread: processes.cpuSeconds("main thread"), atMs: performance.now() };
}

function perRole(value: (role: Role) => number): PerRole {
  return { balancer: value("balancer"), node: value("node"), loader: value("loader") };
}

function inFlightMaxAt(ratePerSec: number): number {
  return Math.max(IN_FLIGHT_MIN, Math.round(ratePerSec * IN_FLIGHT_SECONDS_MAX));
}

function keptUp(run: RateRun): boolean {
  const { result } = run;
  return !result.overloaded && result.errors === 0 && result.achievedPerSec >= ACHIEVED_SHARE_MIN * result.ratePerSec;
}

/** The highest rate of these runs that was kept up, or null if none was. */
function highestSustained(runs: readonly RateRun[]): number | null {
  const rates = runs.filter(keptUp).map((run) => run.result.ratePerSec);
  return rates.length === 0 ? null : Math.max(...rates);
}

/** The lowest rate not kept up above every rate that was: the upper end of the ceiling's bracket. */
function lowestNotSustained(runs: readonly RateRun[]): RateRun | undefined {
  const sustainedPerSec = highestSustained(runs) ?? 0;
  const above = runs.filter((run) => !keptUp(run) && run.result.ratePerSec > sustainedPerSec);
  return above.sort((a, b) => a.result.ratePerSec - b.result.ratePerSec)[0];
}

function figuresOf(runs: readonly RateRun[]): Figure[] {
  const sustainedPerSec = highestSustained(runs);
  const byRate = [...runs].sort((a, b) => a.result.ratePerSec - b.result.ratePerSec);
  const figures = byRate.flatMap((run) => latencyFigures(`SubmitOrder @ ${run.result.ratePerSec.toLocaleString("en-US")}/s`, run, sustainedPerSec));
  const sustained = runs.filter(keptUp);
  const withinBound = sustained.filter((run) => run.result.latency.p99_us < P99_BOUND_US);
  const ceiling = lowestNotSustained(runs);
  const saturation = ceiling === undefined ? "no rate tried overloaded it" : `not sustained at ${ceiling.result.ratePerSec}/s (${cpuText(ceiling.cpu)}; main threads ${cpuText(ceiling.mainThreadCpu)}; ${machineText(ceiling)})`;
  const tried = `of the rates tried, in the order run: ${runs.map((run) => run.result.ratePerSec).join(", ")}/s`;
  figures.push({
    level: "e2e",
    name: `highest rate with p99 < ${P99_BOUND_US.toLocaleString("en-US")} µs`,
    value: Math.max(0, ...withinBound.map((run) => run.result.ratePerSec)),
    unit: "orders/s",
    note: tried,
  });
  figures.push(p99At10k(runs));
  const top = sustained.find((run) => run.result.ratePerSec === sustainedPerSec);
  if (top !== undefined) {
    for (const role of ROLES) {
      figures.push({
        level: "e2e",
        name: `${role} CPU per order`,
        value: top.cpuPerOrderUs[role],
        unit: "µs",
        note: `at ${top.result.ratePerSec}/s, the highest rate sustained` + (role === "loader" ? "; includes the open-loop runner's ticker thread" : ""),
      });
    }
  }
  figures.push({
    level: "e2e",
    name: "highest sustained rate",
    value: sustainedPerSec ?? 0,
    unit: "orders/s",
    target: { value: SUSTAINED_TARGET_PER_S, comparison: ">=" },
    note: `not overloaded, no errors, ≥ ${ACHIEVED_SHARE_MIN * 100}% of the rate achieved; ${saturation}`,
  });
  if (ceiling !== undefined) {
    figures.push({
      level: "e2e",
      name: "lowest rate not sustained",
      value: ceiling.result.ratePerSec,
      unit: "orders/s",
      note: `the ceiling lies between the highest sustained rate and this one (a run's judgement is ±${Math.round((1 - ACHIEVED_SHARE_MIN) * 100)}%); ${tried}`,
    });
  }
  const highest = byRate[byRate.length - 1];
  if (highest !== undefined && !keptUp(highest)) {
    const past = summarizeOverload(highest.result, sustainedPerSec);
    figures.push({
      level: "e2e",
      name: "past saturation: answered per second",
      value: past.answeredPerSec,
      unit: "orders/s",
      note: `at ${highest.result.ratePerSec}/s, the highest rate tried (${past.pace}): ${past.text}`,
    });
  }
  return figures;
}

/** The SubmitOrders row: latencies per rate and the highest rate sustained; no targets (the headline is unary). */
function streamFiguresOf(runs: readonly RateRun[]): Figure[] {
  const sustainedPerSec = highestSustained(runs);
  const figures = runs.flatMap((run) => latencyFigures(`SubmitOrders stream @ ${run.result.ratePerSec.toLocaleString("en-US")}/s`, run, sustainedPerSec));
  if (runs.length === 0) return figures;
  const last = lowestNotSustained(runs);
  const saturation = last === undefined ? "no rate tried overloaded it" : `first overloaded at ${last.result.ratePerSec}/s (${cpuText(last.cpu)}; ${machineText(last)})`;
  figures.push({
    level: "e2e",
    name: "SubmitOrders stream highest sustained rate",
    value: sustainedPerSec ?? 0,
    unit: "orders/s",
    note: `${STREAMS} streams; of the rates tried: ${runs.map((run) => run.result.ratePerSec).join(", ")}/s; ${saturation}`,
  });
  return figures;
}

/**
 * A run's p50 … max: of its measured window, or, for a run that stopped at its bound before the
 * window opened, of every answer it had (else it would read 0 µs).
 */
function latencyFigures(what: string, run: RateRun, sustainedPerSec: number | null): Figure[] {
  const { latency, wholeRun } = reportedLatency(run.result);
  const note = runNote(run, sustainedPerSec) + (wholeRun ? "; latencies over the whole run: none was answered in the measured window" : "");
  return [
    { level: "e2e", name: `${what} latency p50`, value: latency.p50_us, unit: "µs", note },
    { level: "e2e", name: `${what} latency p99`, value: latency.p99_us, unit: "µs" },
    { level: "e2e", name: `${what} latency p99.9`, value: latency.p999_us, unit: "µs" },
    { level: "e2e", name: `${what} latency max`, value: latency.max_us, unit: "µs" },
  ];
}

/** Measured if 10,000/s was run; else a lower bound: the p99 of a lower rate that already overloaded. */
function p99At10k(runs: readonly RateRun[]): Figure {
  const at10k = runs.find((run) => run.result.ratePerSec === 10_000);
  const lower = lowestNotSustained(runs) ?? runs[runs.length - 1];
  const base = { level: "e2e", name: "SubmitOrder p99 @ 10,000/s", unit: "µs", target: { value: P99_AT_10K_TARGET_US, comparison: "<=" as const } };
  if (at10k !== undefined) return { ...base, value: reportedLatency(at10k.result).latency.p99_us, note: runNote(at10k, highestSustained(runs)) };
  const value = lower === undefined ? 0 : reportedLatency(lower.result).latency.p99_us;
  return { ...base, value, note: `not run: the system overloaded at ${lower?.result.ratePerSec}/s already; that run's p99 is shown, a lower bound` };
}

/** Whether the run kept up, its CPU, and for a run that did not, what it did past saturation. */
function runNote(run: RateRun, sustainedPerSec: number | null): string {
  const { result } = run;
  const state = keptUp(run) ? "kept up" : result.overloaded ? "OVERLOADED" : "fell behind";
  const errors = result.errors === 0 ? "" : `, ${result.errors} errors (${run.firstError ?? "?"})`;
  const past = keptUp(run) ? null : summarizeOverload(result, sustainedPerSec);
  const achieved = past?.stoppedInWarmup === true ? "no measured window" : `achieved ${result.achievedPerSec}/s`;
  return (
    `${state}: ${achieved}${errors}${past === null ? "" : `; ${past.text}`}; CPU${run.cpuOverWholeRun ? " over the whole run" : ""} ${cpuText(run.cpu)} (main threads ${cpuText(run.mainThreadCpu)}), ` +
    `${machineText(run)}; CPU per order ${perOrderText(run.cpuPerOrderUs)}; load average ${run.loadAverage.toFixed(1)} on ${cpus().length} cores`
  );
}

function cpuText(cpu: PerRole): string {
  return ROLES.map((role) => `${role} ${cpu[role]}%`).join(", ");
}

/** Whether the three processes had the machine to themselves, or the machine was full. */
function machineText(run: RateRun): string {
  const used = ROLES.reduce((sum, role) => sum + run.cpu[role], 0);
  return `the three processes used ${used}% of ${100 * cpus().length}%`;
}

function perOrderText(cpuPerOrderUs: PerRole): string {
  return ROLES.map((role) => `${role} ${cpuPerOrderUs[role]} µs`).join(", ");
}

function describe(run: RateRun, sustainedPerSec: number | null): string {
  const { result } = run;
  const { latency } = reportedLatency(run.result);
  return (
    `@ ${result.ratePerSec}/s: achieved ${result.achievedPerSec}/s, p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, ` +
    `p99.9 ${latency.p999_us} µs, max ${latency.max_us} µs; ${runNote(run, sustainedPerSec)}`
  );
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


/** Until Health says SERVING (for a node: after recovery), or the process dies, or time runs out. */
async function waitServing(url: string, started: BenchProcess): Promise<void> {
  const exitedBecause = () => (started.exited() ? String(started.proc.exitCode ?? started.proc.signalCode) : null);
  try {
    await waitUntilServing(url, { timeoutMs: SERVING_TIMEOUT_MS, exitedBecause });
  } catch (error) {
    throw new Error(`${started.role} ${error instanceof Error ? error.message : String(error)}:\n${started.output()}`, { cause: error });
  }
}

/** Keeps the last bytes a process wrote, for the error that explains its death. */
const OUTPUT_KEPT_CHARS = 16_384;

class BenchProcess {
  private text = "";

  constructor(
    readonly role: Role,
    readonly proc: Subprocess<"pipe", "pipe", "pipe">,
  ) {
    void this.pump(proc.stderr);
  }

  output(): string {
    return this.text;
  }

  exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  keep(chunk: string): void {
    this.text = (this.text + chunk).slice(-OUTPUT_KEPT_CHARS);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) this.keep(decoder.decode(chunk, { stream: true }));
  }
}

/** Every process this level starts, so that every one is stopped whatever happens. */
class Processes {
  private readonly started = new Map<Role, BenchProcess>();
  /** If the benchmark process itself exits first, its children must not live on. */
  private readonly onExit = () => {
    for (const started of this.started.values()) started.proc.kill("SIGKILL");
  };
  private readonly ticksPerSecond = clockTicksPerSecond();

  start(role: Role, args: string[]): BenchProcess {
    if (this.started.size === 0) process.on("exit", this.onExit);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_")));
    const profile = CPU_PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROFILE_DIR}`, `--cpu-prof-name=${role}.cpuprofile`];
    const proc = Bun.spawn([process.execPath, ...profile, ...args], { cwd: REPO_ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe", env });
    const started = new BenchProcess(role, proc);
    this.started.set(role, started);
    if (role !== "loader") void started.proc.stdout.pipeTo(new WritableStream({ write: (chunk) => started.keep(new TextDecoder().decode(chunk)) }));
    return started;
  }

  /** CPU seconds (user + system) each process, or its main thread, has used so far, from /proc. */
  cpuSeconds(scope: "process" | "main thread"): PerRole {
    const seconds = { balancer: 0, node: 0, loader: 0 };
    for (const [role, started] of this.started) {
      const pid = started.proc.pid;
      // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(scope === "process" ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      seconds[role] = (Number(fields[11]) + Number(fields[12])) / this.ticksPerSecond;
    }
    return seconds;
  }

  /** SIGTERM, then SIGKILL for any still running after STOP_GRACE_MS. */
  async stopAll(): Promise<void> {
    const running = [...this.started.values()];
    for (const started of running) {
      started.proc.stdin.end();
      // The load generator exits when its stdin closes, writing its CPU profile if it has one.
      if (started.role !== "loader") started.proc.kill("SIGTERM");
    }
    const gone = Promise.all(running.map((started) => started.proc.exited));
    const timer = setTimeout(() => {
      for (const started of running) if (!started.exited()) started.proc.kill("SIGKILL");
    }, STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
    this.started.clear();
    process.off("exit", this.onExit);
  }
}

function clockTicksPerSecond(): number {
  const getconf = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const ticks = Number(getconf.stdout.toString().trim());
  // 100 is what Linux uses on every common architecture.
  return getconf.success && Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100;
}

/** The load generator: one JSON request per line on its stdin, one JSON reply per line on its stdout. */
class Loader {
  private readonly lines: AsyncIterator<string>;

  constructor(private readonly child: BenchProcess) {
    this.lines = linesOf(child.proc.stdout);
  }

  async request(request: LoadRequest): Promise<Record<string, unknown>> {
    this.child.proc.stdin.write(`${JSON.stringify(request)}\n`);
    this.child.proc.stdin.flush();
    const { promise: timedOut, reject } = Promise.withResolvers<never>();
    const timer = setTimeout(
      () => reject(new Error(`load generator: no reply to ${request.op} within ${LOADER_REPLY_TIMEOUT_MS} ms:\n${this.child.output()}`)),
      LOADER_REPLY_TIMEOUT_MS,
    );
    try {
      const next = await Promise.race([this.lines.next(), timedOut]);
      if (next.done === true) throw new Error(`load generator exited:\n${this.child.output()}`);
      return JSON.parse(next.value) as Record<string, unknown>;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
}
