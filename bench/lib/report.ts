// Where benchmark figures go: bench/results.json (every figure, machine-readable) and
// BENCHMARKS.md (a table a person reads), both with the machine, the commit and the date.
import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Figure {
  /** e.g. "core", "node.sqlite", "e2e", "recovery", "baseline.postgres". */
  level: string;
  name: string;
  value: number;
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
  if (figure.target === undefined) return null;
  return figure.target.comparison === ">=" ? figure.value >= figure.target.value : figure.value <= figure.target.value;
}

export function writeReports(root: string, env: Environment, figures: readonly Figure[]): void {
  writeFileSync(join(root, "bench", "results.json"), JSON.stringify({ environment: env, figures }, null, 2) + "\n");
  const rows = figures.map((f) => {
    const target = f.target === undefined ? "" : `${f.target.comparison} ${format(f.target.value)}`;
    const ok = meets(f);
    return `| ${f.level} | ${f.name} | ${format(f.value)} ${f.unit} | ${target} | ${ok === null ? "" : ok ? "yes" : "**no**"} | ${f.note ?? ""} |`;
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

function format(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(2);
}
