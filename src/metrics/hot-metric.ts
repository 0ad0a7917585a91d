// What a registry reads from a metric at scrape time, for the hot-path counters and histograms
// of this folder: prom-client's Registry calls get() on each metric it holds and formats what
// comes back, so these need only produce the values, not the exposition text.
import type { Metric, Registry } from "prom-client";

export interface ScrapedValue {
  value: number;
  labels: Record<string, string | number>;
  /** The sample's own name when it differs from the family's (a histogram's _bucket, _sum, _count). */
  metricName?: string;
}

export interface Scraped {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: ScrapedValue[];
}

export interface HotMetric {
  readonly name: string;
  get(): Promise<Scraped>;
}

/** prom-client's typings admit only its own classes; its registry reads any object of this shape. */
export function registerHot(registry: Registry, metric: HotMetric): void {
  registry.registerMetric(metric as unknown as Metric);
}
