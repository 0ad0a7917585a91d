// The node registers a shard-figures source with the process-wide node metrics at start and
// removes it at close. A simulated node that is killed never closes (one killed while starting
// is not even handed back), so its source would pin the whole simulated world for the rest of
// the campaign. A run therefore records every source its nodes register and removes them all
// when it ends.
import { nodeMetrics } from "../metrics/node-metrics.ts";

export async function withMetricsWatchersRemoved<T>(run: () => Promise<T>): Promise<T> {
  const unwatches: (() => void)[] = [];
  const watchShards = nodeMetrics.watchShards;
  nodeMetrics.watchShards = (source) => {
    const unwatch = watchShards.call(nodeMetrics, source);
    unwatches.push(unwatch);
    return unwatch;
  };
  try {
    return await run();
  } finally {
    nodeMetrics.watchShards = watchShards;
    for (const unwatch of unwatches) unwatch();
  }
}
