// BENCHMARKS.md is rewritten by every run, but its History section is people's notes: a run
// replaces the table and keeps the notes.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_HEADING, writeReports, type Environment } from "../../bench/lib/report.ts";

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
