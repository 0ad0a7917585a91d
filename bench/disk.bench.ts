// The disk level: what one durable write costs on the machine the other levels run on. Every
// ack waits for the log's fsync, so the disk's own fsync latency is the floor under the node's
// and the end-to-end p99 (one order per commit at low rates) and under the Postgres baseline's
// too. Measured the way a log commits: a 4 KiB append to a file in the benchmarks' temp folder,
// then fdatasync, each timed into an HDR histogram, in two patterns:
// - back to back, 10,000 of them (the tail of this virtual disk varies from run to run, and
//   2,000 often missed its slow spells);
// - paced at 1,000/s with the thread asleep between writes, as a node's log writer is at 1,000
//   orders/s, each order a commit of its own. On this virtual machine a write after an idle
//   millisecond costs several times one in a busy stream: that is the floor under an order's
//   p99 at that rate. (A writer thread spinning between writes instead of sleeping bought back
//   about half of it, and only when pinned to the vCPU that takes the disk's interrupts: a
//   whole core of two burnt to keep one vCPU awake, which the node does not do.)
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LatencyHistogram, type LatencySummary } from "./lib/histogram.ts";
import type { BenchLevel } from "./lib/level.ts";
import type { Figure } from "./lib/report.ts";

const LEVEL = "disk";
const WRITE_BYTES = 4096;
const WARMUP_WRITES = 100;
const BACK_TO_BACK_WRITES = 10_000;
const PACED_PER_SEC = 1_000;
const PACED_WRITES = 3_000;

type Between = "none" | "asleep";

export const level: BenchLevel = {
  name: LEVEL,
  budgetSeconds: 5,
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), "oms-bench-disk-"));
    try {
      const backToBack = appendsWithFdatasync(join(dir, "back-to-back.log"), BACK_TO_BACK_WRITES, "none");
      const asleep = appendsWithFdatasync(join(dir, "paced-asleep.log"), PACED_WRITES, "asleep");
      const text = (s: LatencySummary) => `p50 ${s.p50_us} µs, p99 ${s.p99_us} µs, p99.9 ${s.p999_us} µs, max ${s.max_us} µs`;
      log(`${BACK_TO_BACK_WRITES} appends of ${WRITE_BYTES} B + fdatasync back to back in ${tmpdir()}: ${text(backToBack)}`);
      log(`${PACED_WRITES} at ${PACED_PER_SEC}/s, asleep between: ${text(asleep)}`);
      const perSec = PACED_PER_SEC.toLocaleString("en-US");
      return [
        ...latencyFigures("fdatasync latency", backToBack, `${BACK_TO_BACK_WRITES.toLocaleString("en-US")} appends of 4 KiB, each then fdatasync, one after another, in ${tmpdir()}: the floor under any ack that waits for its own fsync, on a busy disk`),
        ...latencyFigures(`fdatasync @ ${perSec}/s, asleep between`, asleep, `${PACED_WRITES.toLocaleString("en-US")} of them, one every ${1000 / PACED_PER_SEC} ms, the thread asleep between: the floor under an order's p99 at ${perSec} orders/s, when each order is a commit of its own`),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function appendsWithFdatasync(path: string, writes: number, between: Between): LatencySummary {
  const fd = openSync(path, "a");
  const histogram = new LatencyHistogram();
  const page = new Uint8Array(WRITE_BYTES).fill(0x6f);
  const intervalMs = 1000 / PACED_PER_SEC;
  try {
    let due = performance.now();
    for (let i = 0; i < WARMUP_WRITES + writes; i++) {
      if (between === "asleep") {
        due += intervalMs;
        Bun.sleepSync(Math.max(0, due - performance.now()));
      }
      const start = performance.now();
      writeSync(fd, page);
      fdatasyncSync(fd);
      if (i >= WARMUP_WRITES) histogram.recordMs(performance.now() - start);
    }
  } finally {
    closeSync(fd);
  }
  return histogram.summary();
}

function latencyFigures(what: string, latency: LatencySummary, note: string): Figure[] {
  const figure = (name: string, value: number): Figure => ({ level: LEVEL, name: `${what} ${name}`, value, unit: "µs" });
  return [{ ...figure("p50", latency.p50_us), note }, figure("p99", latency.p99_us), figure("p99.9", latency.p999_us), figure("max", latency.max_us)];
}
