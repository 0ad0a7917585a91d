// The disk level: what one durable write costs on the machine the other levels run on. Every
// ack waits for the log's fsync, so the disk's own fsync latency is the floor under the node's
// and the end-to-end p99 at low rates (one order per commit) and under the Postgres baseline's
// too. Measured the way a log commits: a 4 KiB append to a file in the benchmarks' temp folder,
// then fdatasync, one after another, timed one by one into an HDR histogram. 10,000 of them:
// the tail of this virtual disk varies from run to run, and 2,000 often missed its slow spells.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LatencyHistogram } from "./lib/histogram.ts";
import type { BenchLevel } from "./lib/level.ts";
import type { Figure } from "./lib/report.ts";

const LEVEL = "disk";
const WRITE_BYTES = 4096;
const WARMUP_WRITES = 100;
const TIMED_WRITES = 10_000;

export const level: BenchLevel = {
  name: LEVEL,
  budgetSeconds: 5,
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), "oms-bench-disk-"));
    const fd = openSync(join(dir, "append.log"), "a");
    const histogram = new LatencyHistogram();
    try {
      const page = new Uint8Array(WRITE_BYTES).fill(0x6f);
      for (let i = 0; i < WARMUP_WRITES + TIMED_WRITES; i++) {
        const start = performance.now();
        writeSync(fd, page);
        fdatasyncSync(fd);
        if (i >= WARMUP_WRITES) histogram.recordMs(performance.now() - start);
      }
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    const latency = histogram.summary();
    log(`${TIMED_WRITES} appends of ${WRITE_BYTES} B + fdatasync in ${tmpdir()}: p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, p99.9 ${latency.p999_us} µs, max ${latency.max_us} µs`);
    const note = `${TIMED_WRITES.toLocaleString("en-US")} appends of 4 KiB, each then fdatasync, one at a time, in ${tmpdir()}: the floor under any ack that waits for its own fsync`;
    const figure = (name: string, value: number): Figure => ({ level: LEVEL, name, value, unit: "µs" });
    return [
      { ...figure("fdatasync latency p50", latency.p50_us), note },
      figure("fdatasync latency p99", latency.p99_us),
      figure("fdatasync latency p99.9", latency.p999_us),
      figure("fdatasync latency max", latency.max_us),
    ];
  },
};
