// `bun run bench [level ...]`: runs the benchmark levels (all by default) one after another,
// prints each figure as it comes, and writes bench/results.json and BENCHMARKS.md.
import { join } from "node:path";
import type { BenchLevel } from "./lib/level.ts";
import { environment, meets, writeReports, type Figure } from "./lib/report.ts";

const ROOT = join(import.meta.dir, "..");

async function levels(): Promise<BenchLevel[]> {
  const modules = [
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
  writeReports(ROOT, env, figures);
  console.log("\nwrote bench/results.json and BENCHMARKS.md");
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
