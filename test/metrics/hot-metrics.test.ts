// The hot-path counter and histogram read out through prom-client's registry exactly as
// prom-client's own would: cumulative buckets, +Inf equal to the count, the sum, the labels.
import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { HotCounter } from "../../src/metrics/hot-counter.ts";
import { HotHistogram } from "../../src/metrics/hot-histogram.ts";
import { registerHot } from "../../src/metrics/hot-metric.ts";
import { sampleOf } from "./scrape.ts";

test("a hot histogram exposes cumulative buckets, +Inf, sum and count per label value", async () => {
  const histogram = new HotHistogram("t_seconds", "test", [0.1, 1, 10], "log");
  const sqlite = histogram.cell("sqlite");
  for (const value of [0.05, 0.1, 0.5, 5, 50]) sqlite.observe(value);
  histogram.cell("kafka").observe(2);
  const registry = new Registry();
  registerHot(registry, histogram);
  const text = await registry.metrics();
  expect(text).toContain("# TYPE t_seconds histogram");
  expect(sampleOf(text, 't_seconds_bucket{le="0.1",log="sqlite"}')).toBe(2); // a bound is inclusive
  expect(sampleOf(text, 't_seconds_bucket{le="1",log="sqlite"}')).toBe(3);
  expect(sampleOf(text, 't_seconds_bucket{le="10",log="sqlite"}')).toBe(4);
  expect(sampleOf(text, 't_seconds_bucket{le="+Inf",log="sqlite"}')).toBe(5);
  expect(sampleOf(text, 't_seconds_count{log="sqlite"}')).toBe(5);
  expect(sampleOf(text, 't_seconds_sum{log="sqlite"}')).toBeCloseTo(55.65, 10);
  expect(sampleOf(text, 't_seconds_bucket{le="1",log="kafka"}')).toBe(0);
  expect(sampleOf(text, 't_seconds_bucket{le="10",log="kafka"}')).toBe(1);
});

test("a hot histogram refuses bounds that do not increase", () => {
  expect(() => new HotHistogram("bad_seconds", "test", [1, 1])).toThrow("increasing");
  expect(() => new HotHistogram("bad_seconds", "test", [])).toThrow("increasing");
});

test("a hot counter counts by both labels and exposes each combination once", async () => {
  const counter = new HotCounter("t_total", "test", ["command", "outcome"]);
  counter.inc("deposit", "accepted");
  counter.inc("deposit", "accepted");
  counter.inc("deposit", "not_found");
  counter.inc("submit_order", "accepted", 5);
  const registry = new Registry();
  registerHot(registry, counter);
  const text = await registry.metrics();
  expect(text).toContain("# TYPE t_total counter");
  expect(sampleOf(text, 't_total{command="deposit",outcome="accepted"}')).toBe(2);
  expect(sampleOf(text, 't_total{command="deposit",outcome="not_found"}')).toBe(1);
  expect(sampleOf(text, 't_total{command="submit_order",outcome="accepted"}')).toBe(5);
  expect(counter.countOf("submit_order", "not_found")).toBe(0);
});

test("observing one value for a batch's commands counts each of them in its bucket, and in sum and count", async () => {
  const histogram = new HotHistogram("batch_stage_seconds", "test", [0.001, 0.01]);
  const cell = histogram.cell();
  cell.observeMany(0.005, 3);
  cell.observe(0.0005);
  const registry = new Registry();
  registerHot(registry, histogram);
  const text = await registry.metrics();
  expect(sampleOf(text, 'batch_stage_seconds_bucket{le="0.001"}')).toBe(1);
  expect(sampleOf(text, 'batch_stage_seconds_bucket{le="0.01"}')).toBe(4);
  expect(sampleOf(text, "batch_stage_seconds_count")).toBe(4);
  expect(sampleOf(text, "batch_stage_seconds_sum")).toBeCloseTo(0.0155, 10);
});

test("a timed main-thread job is counted under its name, and what it throws still propagates", async () => {
  const { mainThreadWorkSeconds, timedJob } = await import("../../src/metrics/main-thread-work.ts");
  const registry = new Registry();
  registerHot(registry, mainThreadWorkSeconds);
  const count = async () => sampleOf(await registry.metrics(), 'oms_main_thread_work_seconds_count{job="venue_tick"}') ?? 0;
  const before = await count();
  expect(timedJob("venue_tick", () => 7)).toBe(7);
  expect(() => timedJob("venue_tick", () => { throw new Error("tick failed"); })).toThrow("tick failed");
  expect((await count()) - before).toBe(2);
});
