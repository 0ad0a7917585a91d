// The per-hop budget read from two canned /metrics scrapes: only what happened between them
// counts, a percentile is the upper bound of its bucket, and a family a build does not expose
// reads "not exposed" instead of failing the benchmark.
import { expect, test } from "bun:test";
import { bucketQuantile, histogramDelta, histogramsOf, parseExposition, processBudget, stageBudgetFigures } from "../../bench/lib/stage-budget.ts";
import { NODE_STAGE_FAMILY, NODE_STAGES } from "../../src/metrics/node-metrics.ts";
import { meets } from "../../bench/lib/report.ts";

/** Cumulative bucket lines of one histogram series, as prom-client writes them. */
function histogram(family: string, labels: string, buckets: readonly [string, number][], sum: number): string {
  const count = buckets[buckets.length - 1]?.[1] ?? 0;
  const sep = labels === "" ? "" : ",";
  return [
    ...buckets.map(([le, n]) => `${family}_bucket{le="${le}"${sep}${labels}} ${n}`),
    `${family}_sum${labels === "" ? "" : `{${labels}}`} ${sum}`,
    `${family}_count${labels === "" ? "" : `{${labels}}`} ${count}`,
  ].join("\n");
}

const HEADER = "# HELP oms_node_stage_seconds per stage\n# TYPE oms_node_stage_seconds histogram";

const NODE_BEFORE = [
  HEADER,
  histogram("oms_node_stage_seconds", 'stage="queued"', [["0.00001", 100], ["0.0001", 100], ["0.001", 100], ["+Inf", 100]], 0.0005),
  histogram("oms_node_stage_seconds", 'stage="durable"', [["0.00001", 0], ["0.0001", 10], ["0.001", 100], ["+Inf", 100]], 0.03),
  histogram("oms_event_loop_lag_seconds", "", [["0.00001", 50], ["0.001", 50], ["+Inf", 50]], 0.0001),
  histogram("oms_main_thread_work_seconds", 'job="snapshot"', [["0.0001", 0], ["0.01", 2], ["+Inf", 2]], 0.004),
  histogram("oms_main_thread_work_seconds", 'job="lease"', [["0.0001", 5], ["0.01", 5], ["+Inf", 5]], 0.0002),
  "oms_event_loop_lag_max_seconds 0.0004",
].join("\n");

// In the run: 100 more queued, 99 under 10 µs and one above the last bound; 100 more durable,
// 2 under 100 µs and 98 under 1 ms; reply first seen; 100 lag samples, one above 1 ms.
const NODE_AFTER = [
  HEADER,
  histogram("oms_node_stage_seconds", 'stage="queued"', [["0.00001", 199], ["0.0001", 199], ["0.001", 199], ["+Inf", 200]], 2.0006),
  histogram("oms_node_stage_seconds", 'stage="durable"', [["0.00001", 0], ["0.0001", 12], ["0.001", 200], ["+Inf", 200]], 0.08),
  histogram("oms_node_stage_seconds", 'stage="reply"', [["0.00001", 30], ["0.0001", 30], ["0.001", 30], ["+Inf", 30]], 0.00015),
  histogram("oms_event_loop_lag_seconds", "", [["0.00001", 140], ["0.001", 149], ["+Inf", 150]], 0.5),
  histogram("oms_main_thread_work_seconds", 'job="snapshot"', [["0.0001", 0], ["0.01", 6], ["+Inf", 6]], 0.024),
  histogram("oms_main_thread_work_seconds", 'job="lease"', [["0.0001", 15], ["0.01", 15], ["+Inf", 15]], 0.0007),
  histogram("oms_main_thread_work_seconds", 'job="venue_tick"', [["0.0001", 0], ["0.01", 0], ["+Inf", 0]], 0),
  "oms_event_loop_lag_max_seconds 0.0123",
].join("\n");

test("the exposition parser reads names, labels (escaped quotes too) and +Inf", () => {
  const samples = parseExposition('# TYPE x histogram\nx_bucket{le="+Inf",job="a \\"b\\""} 3\nplain 1.5e-3 1700000000\n');
  expect(samples).toEqual([
    { name: "x_bucket", labels: { le: "+Inf", job: 'a "b"' }, value: 3 },
    { name: "plain", labels: {}, value: 0.0015 },
  ]);
});

test("a run's histogram is the difference of the scrapes, its percentiles bucket upper bounds", () => {
  const before = histogramsOf(parseExposition(NODE_BEFORE), NODE_STAGE_FAMILY, "stage")!;
  const after = histogramsOf(parseExposition(NODE_AFTER), NODE_STAGE_FAMILY, "stage")!;
  const durable = histogramDelta(before.get("durable"), after.get("durable")!);
  expect(durable.count).toBe(100);
  expect(durable.cumulative).toEqual([0, 2, 100, 100]);
  expect(bucketQuantile(durable, 0.5)).toBe(0.001);
  expect(bucketQuantile(durable, 0.01)).toBe(0.0001);
  const queued = histogramDelta(before.get("queued"), after.get("queued")!);
  expect(bucketQuantile(queued, 0.5)).toBe(0.00001);
  expect(bucketQuantile(queued, 0.995)).toBe(Infinity);
  // A stage first seen during the run counts whole.
  expect(histogramDelta(undefined, after.get("reply")!).count).toBe(30);
  expect(bucketQuantile({ bounds: [1, Infinity], cumulative: [0, 0], sum: 0, count: 0 }, 0.99)).toBeNull();
});

test("counts that fall between scrapes (a restarted process) are refused, not reported", () => {
  const before = histogramsOf(parseExposition(NODE_AFTER), NODE_STAGE_FAMILY, "stage")!;
  const after = histogramsOf(parseExposition(NODE_BEFORE), NODE_STAGE_FAMILY, "stage")!;
  expect(() => histogramDelta(before.get("durable"), after.get("durable")!)).toThrow(/restart/);
});

test("a process's budget: stages in path order, lag p99 and max, dearest jobs first", () => {
  const budget = processBudget({ before: NODE_BEFORE, after: NODE_AFTER }, NODE_STAGE_FAMILY, NODE_STAGES);
  expect(budget.stages?.map((s) => [s.stage, s.p50UpperUs, s.p99UpperUs, s.count])).toEqual([
    ["queued", 10, 10, 100],
    ["durable", 1000, 1000, 100],
    ["reply", 10, 10, 30],
  ]);
  expect(budget.stages?.[1]?.meanUs).toBe(500);
  expect(budget.lag).toEqual({ p99UpperUs: 1000, count: 100, maxUs: 12300 });
  // venue_tick did nothing in the run: not listed.
  expect(budget.mainThreadWork?.map((w) => [w.job, w.totalMs, w.count])).toEqual([
    ["snapshot", 20, 4],
    ["lease", 0.5, 10],
  ]);
});

test("families a process does not expose read 'not exposed', with no value", () => {
  const figures = stageBudgetFigures("e2e.budget", "SubmitOrder @ 1,000/s", [
    { process: "node", scrapes: { before: NODE_BEFORE, after: NODE_AFTER } },
    { process: "balancer", scrapes: { before: "process_cpu_seconds_total 1\n", after: "process_cpu_seconds_total 2\n" } },
  ]);
  const balancer = figures.filter((f) => f.name.includes(" balancer "));
  expect(balancer.map((f) => [f.name, f.value])).toEqual([
    ["SubmitOrder @ 1,000/s balancer stages", null],
    ["SubmitOrder @ 1,000/s balancer event-loop lag p99", null],
    ["SubmitOrder @ 1,000/s balancer main-thread work, dearest job", null],
  ]);
  for (const figure of balancer) expect(figure.note).toStartWith("not exposed");
  const queued = figures.find((f) => f.name === "SubmitOrder @ 1,000/s node stage queued p99");
  // One observation above the last bound is under 1% of 100: p99 stays in the 10 µs bucket.
  expect(queued?.value).toBe(10);
  expect(queued?.note).toContain("bucket resolution");
  expect(figures.find((f) => f.name === "SubmitOrder @ 1,000/s node main-thread work, dearest job")?.value).toBe(20);
});

test("a stage with no observations in the run has no value, not a bound of 0", () => {
  const idle = NODE_BEFORE.replace(/oms_event_loop_lag_max_seconds.*$/m, "");
  const figures = stageBudgetFigures("e2e.budget", "x", [{ process: "node", scrapes: { before: idle, after: idle } }]);
  const queued = figures.find((f) => f.name === "x node stage queued p99");
  expect(queued?.value).toBeNull();
  expect(queued?.note).toContain("no observations");
});

test("with shares, each stage's p99 is held against its share, and one over it misses", () => {
  const figures = stageBudgetFigures("e2e.budget", "x", [{ process: "node", scrapes: { before: NODE_BEFORE, after: NODE_AFTER } }], { queued: 25, durable: 500 });
  const queued = figures.find((f) => f.name === "x node stage queued p99")!;
  const durable = figures.find((f) => f.name === "x node stage durable p99")!;
  expect(queued.target).toEqual({ value: 25, comparison: "<=" });
  expect(meets(queued)).toBe(true);
  // durable's p99 falls in the 1 ms bucket: over a 500 µs share.
  expect(durable.value).toBe(1000);
  expect(meets(durable)).toBe(false);
  // A stage the shares do not name has no target.
  expect(figures.find((f) => f.name === "x node stage reply p99")?.target).toBeUndefined();
});
