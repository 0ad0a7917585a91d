// What every process exposes: CPU, resident memory and heap, event-loop lag, and the work its
// main thread does besides calls (main-thread-work.ts). prom-client's defaults (but the heap
// spaces, below) all work under Bun 1.4.5: its lag figures come from
// perf_hooks.monitorEventLoopDelay, which Bun implements (a 300 ms stall reads back as a 0.3 s
// max), and they are reset at each scrape, so nodejs_eventloop_lag_p99_seconds and
// _max_seconds cover the last scrape interval.
import { collectDefaultMetrics, Registry } from "prom-client";
import { registerHot } from "./hot-metric.ts";
import { mainThreadWorkSeconds } from "./main-thread-work.ts";

/** Lag sampled every 10 ms: finer costs wake-ups for no gain at a scrape every few seconds. */
const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * prom-client's heap-space gauges read v8.getHeapSpaceStatistics(), which under Bun walks the
 * whole heap: 62 ms a scrape with a million objects, the main thread stopped for all of it. The
 * heap's size and use stay, from process.memoryUsage() (nodejs_heap_size_*_bytes, 0.02 ms).
 */
export const HEAP_WALKING_FAMILIES = ["nodejs_heap_space_size_total_bytes", "nodejs_heap_space_size_used_bytes", "nodejs_heap_space_size_available_bytes"] as const;

/** A registry holding the process's own figures; each role adds its families to it. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  for (const family of HEAP_WALKING_FAMILIES) registry.removeSingleMetric(family);
  registerHot(registry, mainThreadWorkSeconds);
  return registry;
}
