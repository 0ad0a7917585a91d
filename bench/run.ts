// `bun run bench [level ...]`: runs the benchmark levels (all by default) one after another,
// prints each figure as it comes, and writes bench/results.json and BENCHMARKS.md.
import { join } from "node:path";
import type { BenchLevel } from "./lib/level.ts";
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
      console.log(`   ${figure.name}: ${figure.value} ${figure.unit}${ok === null ? "" : ok ? "  (meets target)" : "  (MISSES target)"}`);
    }
    figures.push(...results);
    console.log(`   (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  figures.push(...ratiosToBaseline(figures));
  writeReports(ROOT, env, figures);
  console.log("\nwrote bench/results.json and BENCHMARKS.md");
}

/**
 * How the design compares with one Postgres transaction per order, on the same machine in the
 * same run: throughput (e2e's highest sustained rate against the baseline's 32 clients) and
 * p99 at the same arrival rate (the highest open-loop rate both ran).
 */
function ratiosToBaseline(figures: readonly Figure[]): Figure[] {
  const find = (level: string, name: string) => figures.find((f) => f.level === level && f.name === name)?.value ?? undefined;
  const baselineRate = find("baseline.postgres", "orders/s, 32 clients");
  const sustained = find("e2e", "highest sustained rate");
  const ratios: Figure[] = [];
  if (baselineRate !== undefined && sustained !== undefined && baselineRate > 0) {
    ratios.push({
      level: "ratio",
      name: "throughput: e2e highest sustained rate ÷ baseline (32 clients)",
      value: Math.round((sustained / baselineRate) * 100) / 100,
      unit: "×",
      target: { value: 10, comparison: ">=" },
      note: `${sustained} vs ${baselineRate} orders/s`,
    });
  }
  const openRates = figures
    .filter((f) => f.level === "baseline.postgres" && f.name.startsWith("p99 latency, open loop "))
    .map((f) => ({ rate: f.name.replace("p99 latency, open loop ", ""), baselineP99: f.value }));
  for (const { rate, baselineP99 } of openRates.reverse()) {
    const e2eP99 = find("e2e", `SubmitOrder @ ${rate} latency p99`);
    if (e2eP99 === undefined || e2eP99 <= 0) continue;
    ratios.push({
      level: "ratio",
      name: `p99 at ${rate}: baseline ÷ e2e`,
      value: Math.round((baselineP99 / e2eP99) * 100) / 100,
      unit: "×",
      target: { value: 10, comparison: ">=" },
      note: `${baselineP99} µs vs ${e2eP99} µs`,
    });
    break;
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
