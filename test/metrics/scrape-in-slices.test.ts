// The /metrics text written a family at a time: the same text prom-client's metrics() writes,
// and the event loop let in whenever the scrape has held it the main-thread bound, each slice
// timed as a run of metrics_scrape. The clock is injected; no wall-clock time is asserted.
import { expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { MAIN_THREAD_SLICE_MS, mainThreadWorkSeconds } from "../../src/metrics/main-thread-work.ts";
import { scrapeInSlices, type MetricsSource } from "../../src/metrics/metrics-route.ts";

test("the text is prom-client's own, family for family", async () => {
  const registry = new Registry();
  new Counter({ name: "a_total", help: "A \\ counter.", labelNames: ["kind"], registers: [registry] }).inc({ kind: 'x"y' }, 3);
  new Gauge({ name: "b", help: "A gauge.", registers: [registry], collect() { this.set(7); } });
  new Histogram({ name: "c_seconds", help: "A histogram.", buckets: [0.1, 1], registers: [registry] }).observe(0.5);
  expect(await scrapeInSlices(registry)).toBe(await registry.metrics());
});

/** Families that each take stepMs on the injected clock, and count how often the loop turned. */
function slowFamilies(count: number, stepMs: number): { source: MetricsSource; clock: () => number; turnsSeen: () => number[] } {
  let now = 0;
  let turns = 0;
  const turnsAtFamily: number[] = [];
  const pump = () => {
    turns += 1;
    if (turnsAtFamily.length < count) setImmediate(pump);
  };
  setImmediate(pump);
  return {
    clock: () => now,
    turnsSeen: () => turnsAtFamily,
    source: {
      contentType: "text/plain",
      getMetricsAsArray: () => Array.from({ length: count }, (_, i) => ({ name: `f${i}` })),
      getSingleMetricAsString: async (name) => {
        turnsAtFamily.push(turns);
        now += stepMs;
        return `# HELP ${name} x\n# TYPE ${name} gauge\n${name} 1`;
      },
    },
  };
}

test("the scrape lets the event loop turn once a slice has held it the bound, and times each slice", async () => {
  const jobs = () => mainThreadWorkSeconds.cell("metrics_scrape");
  const before = { count: jobs().count, sum: jobs().sum };
  // Each family holds the thread half the bound: a slice is two families.
  const { source, clock, turnsSeen } = slowFamilies(6, MAIN_THREAD_SLICE_MS / 2);
  const text = await scrapeInSlices(source, clock);
  expect(text.split("\n\n")).toHaveLength(6);
  const turns = turnsSeen();
  // Families 0-1 in the first slice, 2-3 in the second, 4-5 in the third: the loop turned
  // between slices, never inside one.
  expect(turns[1]).toBe(turns[0]);
  expect(turns[2]).toBeGreaterThan(turns[1]!);
  expect(turns[3]).toBe(turns[2]);
  expect(turns[4]).toBeGreaterThan(turns[3]!);
  expect(turns[5]).toBe(turns[4]);
  expect(jobs().count - before.count).toBe(3);
  expect(jobs().sum - before.sum).toBeCloseTo((6 * MAIN_THREAD_SLICE_MS) / 2 / 1000, 9);
});
