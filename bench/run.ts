// `bun run bench [level ...]`: runs the benchmark levels (all by default) one after another,
// prints each figure as it comes, and writes bench/results.json and BENCHMARKS.md.
import { join } from "node:path";
import type { BenchLevel } from "./lib/level.ts";
import { BASELINE_LEVEL } from "./baseline.bench.ts";
import { environment, meets, writeReports, type Figure } from "./lib/report.ts";

const ROOT = join(import.meta.dir, "..");

async function levels(): Promise<BenchLevel[]> {
  const modules = [
    await import("./disk.bench.ts"),
    await import("./core.bench.ts"),
    await import("./node.bench.ts"),
    await import("./e2e.bench.ts"),
    await import("./recovery.bench.ts"),
    await import("./baseline.bench.ts"),
  ];
  return modules.map((module) => module.level);
}

async function main(argv: string[]): Promise<void> {
  const all = await levels();
  const chosen = argv.length === 0 ? all : all.filter((level) => argv.includes(level.name));
  if (chosen.length === 0) throw new Error(`bench: no level named ${argv.join(", ")}; levels: ${all.map((l) => l.name).join(", ")}`);
  const env = environment();
  console.log(`oms benchmarks on ${env.machine} (${env.cores} cores), bun ${env.bun}, commit ${env.commit}`);
  const figures: Figure[] = [];
  for (const level of chosen) {
    const started = performance.now();
    console.log(`\n== ${level.name} (about ${level.budgetSeconds} s)`);
    const results = await level.run((line) => console.log(`   ${line}`));
    for (const figure of results) {
      const ok = meets(figure);
      console.log(`   ${figure.name}: ${figure.value ?? "—"} ${figure.unit}${ok === null ? "" : ok ? "  (meets target)" : "  (MISSES target)"}`);
    }
    figures.push(...results);
    console.log(`   (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  figures.push(...ratiosToBaseline(figures));
  writeReports(ROOT, env, figures);
  console.log("\nwrote bench/results.json and BENCHMARKS.md");
}

/** Issue 11: at least 5× lower p99 at every rate both sustain, at least 5× the throughput. */
const RATIO_TARGET = 5;

/**
 * How the design compares with one Postgres transaction per order, on the same machine in the
 * same run, both behind a Connect front and driven by the same load generator and client at the
 * same rates: p99 at every rate both sustain, and the highest rates sustained.
 */
function ratiosToBaseline(figures: readonly Figure[]): Figure[] {
  const find = (level: string, name: string) => figures.find((f) => f.level === level && f.name === name)?.value ?? undefined;
  const baselineSustained = find(BASELINE_LEVEL, "highest sustained rate");
  const sustained = find("e2e", "highest sustained rate");
  if (baselineSustained === undefined || sustained === undefined) return [];
  const ratios: Figure[] = [];
  if (baselineSustained > 0) {
    ratios.push({
      level: "ratio",
      name: "throughput: highest sustained rate, oms ÷ baseline",
      value: Math.round((sustained / baselineSustained) * 100) / 100,
      unit: "×",
      target: { value: RATIO_TARGET, comparison: ">=" },
      note: `${sustained} vs ${baselineSustained} orders/s, the same load generator and lean client`,
    });
  }
  const rates = figures
    .filter((f) => f.level === BASELINE_LEVEL && /^SubmitOrder @ [\d,]+\/s latency p99$/.test(f.name))
    .map((f) => ({ name: f.name, rate: Number(f.name.replace(/^SubmitOrder @ ([\d,]+)\/s.*$/, "$1").replaceAll(",", "")), baselineP99: f.value }));
  for (const { name, rate, baselineP99 } of rates) {
    const e2eP99 = find("e2e", name);
    if (e2eP99 === undefined || e2eP99 <= 0 || baselineP99 === null || rate > Math.min(sustained, baselineSustained)) continue;
    ratios.push({
      level: "ratio",
      name: `p99 at ${rate.toLocaleString("en-US")}/s: baseline ÷ oms`,
      value: Math.round((baselineP99 / e2eP99) * 100) / 100,
      unit: "×",
      target: { value: RATIO_TARGET, comparison: ">=" },
      note: `${baselineP99} µs vs ${e2eP99} µs, medians of their runs`,
    });
  }
  return ratios;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
