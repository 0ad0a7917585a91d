// Where benchmark figures go: bench/results.json (every figure, machine-readable) and
// BENCHMARKS.md (a table a person reads), both with the machine, the commit and the date.
import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LatencySummary } from "./histogram.ts";

export interface Figure {
  /** e.g. "core", "node.sqlite", "e2e", "recovery", "baseline.postgres". */
  level: string;
  name: string;
  /** null: not measured (e.g. a metric the process does not expose); the note says why. */
  value: number | null;
  unit: string;
  /** The target this figure is held against, if any, and whether it meets it. */
  target?: { value: number; comparison: ">=" | "<=" };
  note?: string;
}

export interface Environment {
  machine: string;
  cores: number;
  memory_gib: number;
  bun: string;
  commit: string;
  date: string;
}

export function environment(): Environment {
  const commit = (() => {
    try {
      return execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  })();
  return {
    machine: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    bun: Bun.version,
    commit,
    date: new Date().toISOString(),
  };
}

export function meets(figure: Figure): boolean | null {
  if (figure.target === undefined || figure.value === null) return null;
  return figure.target.comparison === ">=" ? figure.value >= figure.target.value : figure.value <= figure.target.value;
}

export function writeReports(root: string, env: Environment, figures: readonly Figure[]): void {
  writeFileSync(join(root, "bench", "results.json"), JSON.stringify({ environment: env, figures }, null, 2) + "\n");
  const rows = figures.map((f) => {
    const target = f.target === undefined ? "" : `${f.target.comparison} ${format(f.target.value)}`;
    const ok = meets(f);
    const value = f.value === null ? "—" : `${format(f.value)} ${f.unit}`;
    return `| ${f.level} | ${f.name} | ${value} | ${target} | ${ok === null ? "" : ok ? "yes" : "**no**"} | ${f.note ?? ""} |`;
  });
  const markdown = [
    "# Benchmarks",
    "",
    "Written by `bun run bench` (bench/run.ts); every figure is also in `bench/results.json`.",
    "Latencies are from HDR histograms; load is open-loop at fixed arrival rates, timed from each",
    "request's intended start, so queueing shows instead of hiding (no coordinated omission).",
    "",
    `- machine: ${env.machine}, ${env.cores} cores, ${env.memory_gib} GiB`,
    `- bun ${env.bun}, commit ${env.commit}, ${env.date}`,
    "",
    "| level | figure | value | target | met | note |",
    "|---|---|---|---|---|---|",
    ...rows,
    ...soakRows(root),
    "",
  ].join("\n");
  const path = join(root, "BENCHMARKS.md");
  writeFileSync(path, markdown + keptHistory(path));
}

/**
 * The rows `bun run soak` wrote last (bench/soak.md): the soak takes many minutes, so it is not a
 * level of `bun run bench`, but its row stays in the table every run writes.
 */
function soakRows(root: string): string[] {
  const path = join(root, "bench", "soak.md");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line.startsWith("| soak |"));
}

/**
 * The "## History" section of BENCHMARKS.md is written by people (what was tried, what it
 * measured, what was kept): every run keeps it below the new table.
 */
export const HISTORY_HEADING = "## History";

function keptHistory(path: string): string {
  if (!existsSync(path)) return "";
  const previous = readFileSync(path, "utf8");
  const at = previous.indexOf(`\n${HISTORY_HEADING}\n`);
  return at === -1 ? "" : previous.slice(at);
}

/** The percentiles every latency row of a rate reports, in the order a table reads them. */
const PERCENTILES = [
  { label: "p50", of: (l: LatencySummary) => l.p50_us },
  { label: "p99", of: (l: LatencySummary) => l.p99_us },
  { label: "p99.9", of: (l: LatencySummary) => l.p999_us },
  { label: "max", of: (l: LatencySummary) => l.max_us },
] as const;

/** Targets a rate's latency is held against, in µs. */
export interface LatencyTargets {
  p99_us?: number;
  p999_us?: number;
}

/**
 * A rate's latency rows over its runs: each percentile's figure is the median of the runs
 * (one run's bad second neither makes nor breaks a row) and its note every run's value, in the
 * order run, so the spread shows beside it. `note` goes on the p50 row (what the runs were).
 */
export function spreadFigures(level: string, what: string, runs: readonly LatencySummary[], targets: LatencyTargets, note: string): Figure[] {
  if (runs.length === 0) throw new Error(`report: ${what} has no runs`);
  return PERCENTILES.map(({ label, of }) => {
    const values = runs.map(of);
    const target = label === "p99" ? targets.p99_us : label === "p99.9" ? targets.p999_us : undefined;
    const spread = `median of ${runs.length} run${runs.length === 1 ? "" : "s"}: ${values.map((v) => format(v)).join(" / ")} µs`;
    return {
      level,
      name: `${what} latency ${label}`,
      value: median(values),
      unit: "µs",
      ...(target === undefined ? {} : { target: { value: target, comparison: "<=" as const } }),
      note: label === "p50" && note !== "" ? `${spread}; ${note}` : spread,
    };
  });
}

/** Of an even count, the mean of the middle two, rounded. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("report: the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const upper = sorted[Math.floor(sorted.length / 2)] as number;
  const lower = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  return Math.round((upper + lower) / 2);
}

function format(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(2);
}
