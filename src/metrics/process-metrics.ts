// What every process exposes: CPU, resident memory, heap size and use, file descriptors
// (prom-client's default collectors), event-loop lag (event-loop-lag.ts) and the work its main
// thread does besides calls (main-thread-work.ts).
//
// prom-client's defaults are taken one by one rather than all through collectDefaultMetrics,
// to leave two out: its heap-space gauges read v8.getHeapSpaceStatistics(), which under Bun
// walks the whole heap (62 ms a scrape with a million objects, the main thread stopped for all
// of it; the heap's size and use come from process.memoryUsage(), 0.02 ms), and its event-loop
// lag, whose quantiles were reset at each scrape and could not be combined over a window, runs
// a sampler of its own that oms_event_loop_lag_seconds replaces. prom-client has no export map:
// its collectors are required by path, at the version package.json pins.
import { Registry } from "prom-client";
import { eventLoopLagMaxSeconds, eventLoopLagSeconds, sampleEventLoopLag } from "./event-loop-lag.ts";
import { registerHot } from "./hot-metric.ts";
import { mainThreadWorkSeconds } from "./main-thread-work.ts";

type Collector = (registry: Registry, config: object) => void;

const DEFAULT_COLLECTORS: readonly Collector[] = [
  require("prom-client/lib/metrics/processCpuTotal"),
  require("prom-client/lib/metrics/processStartTime"),
  require("prom-client/lib/metrics/osMemoryHeap"),
  require("prom-client/lib/metrics/processOpenFileDescriptors"),
  require("prom-client/lib/metrics/processMaxFileDescriptors"),
  require("prom-client/lib/metrics/processHandles"),
  require("prom-client/lib/metrics/processRequests"),
  require("prom-client/lib/metrics/heapSizeAndUsed"),
  require("prom-client/lib/metrics/version"),
];

/** A registry holding the process's own figures; each role adds its families to it. */
export function processRegistry(): Registry {
  const registry = new Registry();
  for (const collect of DEFAULT_COLLECTORS) collect(registry, {});
  registerHot(registry, mainThreadWorkSeconds);
  registerHot(registry, eventLoopLagSeconds);
  registry.registerMetric(eventLoopLagMaxSeconds);
  sampleEventLoopLag();
  return registry;
}
