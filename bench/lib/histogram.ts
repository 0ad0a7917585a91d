// Latency recording for the benchmarks: an HDR histogram in microseconds (1 µs to 60 s at 3
// significant digits), summarised as the percentiles the reports show.
import * as hdr from "hdr-histogram-js";

export interface LatencySummary {
  count: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
}

export class LatencyHistogram {
  private readonly histogram = hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });

  /** Records one latency given in milliseconds (performance.now() differences). */
  recordMs(latencyMs: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    return {
      count: h.totalCount,
      p50_us: h.getValueAtPercentile(50),
      p99_us: h.getValueAtPercentile(99),
      p999_us: h.getValueAtPercentile(99.9),
      max_us: h.maxValue,
      mean_us: Math.round(h.mean),
    };
  }
}
