// BENCHMARKS.md is rewritten by every run, but its History section is people's notes: a run
// replaces the table and keeps the notes.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_HEADING, median, meets, spreadFigures, writeReports, type Environment } from "../../bench/lib/report.ts";

const ENV: Environment = { machine: "test cpu", cores: 2, memory_gib: 24, bun: "1.4.5", commit: "abc1234", date: "2026-12-06T00:00:00.000Z" };

function root(): string {
  const dir = mkdtempSync(join(tmpdir(), "oms-report-"));
  mkdirSync(join(dir, "bench"));
  return dir;
}

test("a run replaces the table and keeps the History section below it", () => {
  const dir = root();
  const history = `${HISTORY_HEADING}\n\n- one Map of orders per account: two Maps cut young GC but stalled one command 35-45 ms\n`;
  writeFileSync(join(dir, "BENCHMARKS.md"), `# Benchmarks\n\n| old | table |\n\n${history}`);
  writeReports(dir, ENV, [{ level: "core", name: "submit_orders_per_sec", value: 500_000, unit: "orders/s" }]);
  const written = readFileSync(join(dir, "BENCHMARKS.md"), "utf8");
  expect(written).toContain("| core | submit_orders_per_sec | 500,000 orders/s |");
  expect(written).not.toContain("| old | table |");
  expect(written.endsWith(history)).toBe(true);
});

test("without a History section, or without a file, the report is the table alone", () => {
  const dir = root();
  writeReports(dir, ENV, [{ level: "core", name: "x", value: 1, unit: "u" }]);
  const first = readFileSync(join(dir, "BENCHMARKS.md"), "utf8");
  expect(first).not.toContain(HISTORY_HEADING);
  writeReports(dir, ENV, [{ level: "core", name: "x", value: 2, unit: "u" }]);
  expect(readFileSync(join(dir, "BENCHMARKS.md"), "utf8")).toContain("| core | x | 2 u |");
});

test("a rate's rows are the median of its runs, every run's value in the note, targets on p99 and p99.9", () => {
  const run = (p99: number) => ({ count: 1000, p50_us: 500, p99_us: p99, p999_us: 2 * p99, max_us: 3 * p99, mean_us: 600 });
  const figures = spreadFigures("e2e", "SubmitOrder @ 1,000/s", [run(1_400), run(9_000), run(1_200)], { p99_us: 1_500, p999_us: 3_000 }, "kept up");
  expect(figures.map((f) => [f.name, f.value])).toEqual([
    ["SubmitOrder @ 1,000/s latency p50", 500],
    ["SubmitOrder @ 1,000/s latency p99", 1_400],
    ["SubmitOrder @ 1,000/s latency p99.9", 2_800],
    ["SubmitOrder @ 1,000/s latency max", 4_200],
  ]);
  expect(figures[1]?.note).toBe("median of 3 runs: 1,400 / 9,000 / 1,200 µs");
  expect(figures[0]?.note).toEndWith("; kept up");
  expect(figures.map((f) => meets(f))).toEqual([null, true, true, null]);
  expect(median([4, 1, 3, 2])).toBe(3);
});

test("a figure with no value (not measured) is written as a dash and meets no target", () => {
  const dir = root();
  const figure = { level: "e2e.budget", name: "node stages", value: null, unit: "", target: { value: 1, comparison: "<=" as const }, note: "not exposed" };
  expect(meets(figure)).toBeNull();
  writeReports(dir, ENV, [figure]);
  expect(readFileSync(join(dir, "BENCHMARKS.md"), "utf8")).toContain("| e2e.budget | node stages | — | <= 1 |  | not exposed |");
});
