// Open-loop runs at fixed rates through a load generator process (bench/e2e-load.ts), shared by
// every level that drives a server over the network (e2e, and the Postgres baseline behind the
// same kind of front), so that their figures compare like with like: one runner, one judgement
// of "kept up", one note. Each process's CPU over each run is read from /proc, so the report
// says which one saturated.
import { cpus, loadavg } from "node:os";
import type { LoadRequest } from "../e2e-load.ts";
import type { BenchProcesses } from "./bench-processes.ts";
import { searchCeiling, type CeilingSearch } from "./ceiling-search.ts";
import type { LatencySummary } from "./histogram.ts";
import type { LoadDriver } from "./load-driver.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import { reportedLatency, summarizeOverload } from "./overload-summary.ts";

/** Half a second of arrivals in flight means the system is not keeping up: the run stops. */
const IN_FLIGHT_SECONDS_MAX = 0.5;
const IN_FLIGHT_MIN = 1_000;
/** A rate achieved below this share of what was asked is a rate not kept up. */
export const ACHIEVED_SHARE_MIN = 0.95;
/**
 * Bisection between a ladder's highest sustained rate and its first rate not sustained, until
 * they are as close as the judgement of a run is fine (a 5% shortfall), at most three runs.
 */
export const CEILING_SEARCH: CeilingSearch = { resolutionShare: 1 - ACHIEVED_SHARE_MIN, probesMax: 3, stepPerSec: 125 };

/** What drives the load and whose CPU counts: the system's processes, then the loader's. */
export interface RunTarget {
  processes: BenchProcesses;
  loader: LoadDriver;
  /** Roles of the processes measured, the loader's last. */
  roles: readonly string[];
}

/** A run's shape: its window, warm-up and, for SubmitOrders, its streams. */
export interface RunShape {
  warmupMs: number;
  durationMs: number;
  streams?: number;
  /** Past this many in flight the run stops, overloaded; half a second of arrivals if not given. */
  inFlightMax?: number;
  /** Each call's deadline, for an overload run (e2e-load.ts); the generator's 10 s if not given. */
  deadlineMs?: number;
}

export interface RateRun {
  result: OpenLoopResult;
  firstError: string | null;
  /** CPU use over the measured window, in % of one core: all threads, and the main thread
   * alone (the event loop; JIT, GC and writer threads have threads of their own). */
  cpu: Record<string, number>;
  mainThreadCpu: Record<string, number>;
  /** CPU time per acknowledged order over the measured window: robust to a noisy machine. */
  cpuPerOrderUs: Record<string, number>;
  /** The run stopped before its window's end: its CPU is over all of it, per order it answered. */
  cpuOverWholeRun: boolean;
  loadAverage: number;
}

export function inFlightMaxAt(ratePerSec: number): number {
  return Math.max(IN_FLIGHT_MIN, Math.round(ratePerSec * IN_FLIGHT_SECONDS_MAX));
}

/**
 * One open-loop run; each process's CPU is read when the measured window opens and closes (for
 * a run that stopped at its bound before the window's end, over all of it, warm-up and drain
 * included: its window is too short, or never opened).
 */
export async function runRate(target: RunTarget, ratePerSec: number, shape: RunShape): Promise<RateRun> {
  const { processes, loader, roles } = target;
  const request: LoadRequest = {
    op: "run",
    ratePerSec,
    warmupMs: shape.warmupMs,
    durationMs: shape.durationMs,
    inFlightMax: shape.inFlightMax ?? inFlightMaxAt(ratePerSec),
    ...(shape.streams === undefined ? {} : { streams: shape.streams }),
    ...(shape.deadlineMs === undefined ? {} : { deadlineMs: shape.deadlineMs }),
  };
  const reading = () => ({ process: processes.cpuSeconds(roles, "process"), mainThread: processes.cpuSeconds(roles, "main thread"), atMs: performance.now() });
  const started = reading();
  const reply = loader.request(request);
  await Promise.race([Bun.sleep(shape.warmupMs), reply]);
  const windowOpened = reading();
  const loadAverage = loadavg()[0] ?? 0;
  // The window closes at its end, or earlier if the run stopped overloaded.
  await Promise.race([Bun.sleep(shape.durationMs), reply]);
  const windowClosed = reading();
  const answer = await reply;
  const result = answer["result"] as OpenLoopResult;
  const stoppedEarly = result.overloaded;
  const [opened, closed] = stoppedEarly ? [started, reading()] : [windowOpened, windowClosed];
  const elapsedS = (closed.atMs - opened.atMs) / 1000;
  const orders = Math.max(1, stoppedEarly ? result.whole.latency.count : result.achievedPerSec * elapsedS);
  const perRole = (value: (role: string) => number) => Object.fromEntries(roles.map((role) => [role, value(role)]));
  const used = (role: string) => (closed.process[role] as number) - (opened.process[role] as number);
  return {
    result,
    firstError: (answer["firstError"] as string | null) ?? null,
    cpu: perRole((role) => Math.round((100 * used(role)) / elapsedS)),
    mainThreadCpu: perRole((role) => Math.round((100 * ((closed.mainThread[role] as number) - (opened.mainThread[role] as number))) / elapsedS)),
    cpuPerOrderUs: perRole((role) => Math.round((1e6 * used(role)) / orders)),
    cpuOverWholeRun: stoppedEarly,
    loadAverage,
  };
}

/** The same rate `times` times in a row: a figure is their median, the spread their note. */
export async function repeatedRuns(times: number, run: () => Promise<RateRun>): Promise<RateRun[]> {
  const runs: RateRun[] = [];
  for (let i = 0; i < times; i++) runs.push(await run());
  return runs;
}

/** The run of a rate whose p99 is the median of its runs: it stands for the rate in a ladder. */
export function medianRun(runs: readonly RateRun[]): RateRun {
  const p99 = (run: RateRun) => reportedLatency(run.result).latency.p99_us;
  const middle = [...runs].sort((a, b) => p99(a) - p99(b))[Math.floor(runs.length / 2)];
  if (middle === undefined) throw new Error("bench: a rate with no runs");
  return middle;
}

export function keptUp(run: RateRun): boolean {
  const { result } = run;
  return !result.overloaded && result.errors === 0 && result.achievedPerSec >= ACHIEVED_SHARE_MIN * result.ratePerSec;
}

/** The highest rate of these runs that was kept up, or null if none was. */
export function highestSustained(runs: readonly RateRun[]): number | null {
  const rates = runs.filter(keptUp).map((run) => run.result.ratePerSec);
  return rates.length === 0 ? null : Math.max(...rates);
}

/** The lowest rate not kept up above every rate that was: the upper end of the ceiling's bracket. */
export function lowestNotSustained(runs: readonly RateRun[]): RateRun | undefined {
  const sustainedPerSec = highestSustained(runs) ?? 0;
  const above = runs.filter((run) => !keptUp(run) && run.result.ratePerSec > sustainedPerSec);
  return above.sort((a, b) => a.result.ratePerSec - b.result.ratePerSec)[0];
}

/** Each rate in turn, until one is not kept up (it is the last one run). */
export async function risingRates(rates: readonly number[], run: (ratePerSec: number) => Promise<RateRun>, log: (line: string) => void, label: string): Promise<RateRun[]> {
  const runs: RateRun[] = [];
  for (const ratePerSec of rates) {
    const done = await run(ratePerSec);
    runs.push(done);
    log(`${label} ${describe(done, highestSustained(runs))}`);
    if (!keptUp(done)) break;
  }
  return runs;
}

/**
 * Where the ceiling lies: the rising ladder above what the runs so far kept up with, then the
 * bisection between its highest sustained rate and its first not sustained. Returns every run.
 */
export async function findCeiling(before: readonly RateRun[], ladder: readonly number[], run: (ratePerSec: number) => Promise<RateRun>, log: (line: string) => void, label: string): Promise<RateRun[]> {
  const start = highestSustained(before) ?? 0;
  const lowestFailed = lowestNotSustained(before);
  const rungs = lowestFailed === undefined ? ladder.filter((rate) => rate > start) : [];
  const climbed = [...before, ...(await risingRates(rungs, run, log, `${label} ladder`))];
  const sustainedPerSec = highestSustained(climbed);
  const ceiling = lowestNotSustained(climbed);
  if (sustainedPerSec === null || ceiling === undefined) return climbed.slice(before.length);
  const probes: RateRun[] = [];
  await searchCeiling({ sustainedPerSec, notSustainedPerSec: ceiling.result.ratePerSec }, CEILING_SEARCH, async (ratePerSec) => {
    const done = await run(ratePerSec);
    probes.push(done);
    log(`${label} ceiling probe ${describe(done, highestSustained([...climbed, ...probes]))}`);
    return keptUp(done);
  });
  return [...climbed.slice(before.length), ...probes];
}

/** BENCH_E2E_RATES=5000,10000 runs only those rates: for comparing changes and for profiles. */
export function ratesFromEnvironment(variable: string): number[] | null {
  const text = process.env[variable];
  if (text === undefined || text.trim() === "") return null;
  if (text.trim() === "none") return [];
  const rates = text.split(",").map((rate) => Number(rate.trim()));
  if (!rates.every((rate) => Number.isSafeInteger(rate) && rate > 0)) throw new Error(`bench: ${variable} must be positive integers separated by commas, or none, got ${text}`);
  return rates;
}

/** A positive integer from the environment (a run's length, a count of runs), or the default. */
export function numberFromEnvironment(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`bench: ${variable} must be a positive integer, got ${text}`);
  return value;
}

/** The latencies each run reports (its window's, or its whole run's if the window never opened). */
export function latenciesOf(runs: readonly RateRun[]): LatencySummary[] {
  return runs.map((run) => reportedLatency(run.result).latency);
}

/** Whether the run kept up, its CPU, and for a run that did not, what it did past saturation. */
export function runNote(run: RateRun, sustainedPerSec: number | null): string {
  const { result } = run;
  const state = keptUp(run) ? "kept up" : result.overloaded ? "OVERLOADED" : "fell behind";
  const errors = result.errors === 0 ? "" : `, ${result.errors} errors (${run.firstError ?? "?"})`;
  const past = keptUp(run) ? null : summarizeOverload(result, sustainedPerSec);
  const achieved = past?.stoppedInWarmup === true ? "no measured window" : `achieved ${result.achievedPerSec}/s`;
  return (
    `${state}: ${achieved}${errors}${past === null ? "" : `; ${past.text}`}; CPU${run.cpuOverWholeRun ? " over the whole run" : ""} ${roleText(run.cpu, "%")} (main threads ${roleText(run.mainThreadCpu, "%")}), ` +
    `${machineText(run)}; CPU per order ${roleText(run.cpuPerOrderUs, " µs")}; load average ${run.loadAverage.toFixed(1)} on ${cpus().length} cores`
  );
}

/** A short note for a rate's runs: how many kept up, and the CPU of the median one. */
export function runsNote(runs: readonly RateRun[], sustainedPerSec: number | null): string {
  const kept = runs.filter(keptUp).length;
  const middle = [...runs].sort((a, b) => reportedLatency(a.result).latency.p99_us - reportedLatency(b.result).latency.p99_us)[Math.floor(runs.length / 2)];
  return `${kept} of ${runs.length} runs kept up; the median run: ${middle === undefined ? "none" : runNote(middle, sustainedPerSec)}`;
}

export function roleText(values: Record<string, number>, unit: string): string {
  return Object.entries(values).map(([role, value]) => `${role} ${value}${unit}`).join(", ");
}

/** Whether the processes had the machine to themselves, or the machine was full. */
export function machineText(run: RateRun): string {
  const used = Object.values(run.cpu).reduce((sum, value) => sum + value, 0);
  return `the ${Object.keys(run.cpu).length} processes used ${used}% of ${100 * cpus().length}%`;
}

export function describe(run: RateRun, sustainedPerSec: number | null): string {
  const { result } = run;
  const { latency } = reportedLatency(run.result);
  return (
    `@ ${result.ratePerSec}/s: achieved ${result.achievedPerSec}/s, p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, ` +
    `p99.9 ${latency.p999_us} µs, max ${latency.max_us} µs; ${runNote(run, sustainedPerSec)}`
  );
}

/** Accounts the load generator creates, funds and rotates its orders over, for every server alike. */
export const LOAD_ACCOUNTS = 2048;
/**
 * A rate's runs: RUNS_PER_RATE (BENCH_RUNS) of BENCH_RUN_MS each after a second's warm-up.
 * Three is the fewest with a median that one bad run cannot move; 5 s at 1,000/s is 5,000
 * orders a run, 15,000 a rate, so a p99.9 rests on 15 orders.
 */
export const RUNS_PER_RATE = numberFromEnvironment("BENCH_RUNS", 3);
export const RATE_RUN: RunShape = { warmupMs: 1_000, durationMs: numberFromEnvironment("BENCH_RUN_MS", 5_000) };
/**
 * Unmeasured load before the first rate: JavaScriptCore keeps compiling (its JIT threads took
 * ~20% of a core in each process 5 s into a run), which would count as the first rates' CPU.
 */
export const JIT_WARMUP = { ratePerSec: 2_000, warmupMs: 5_000, durationMs: 1_000 } as const;
