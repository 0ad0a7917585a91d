// `oms dev-kafka`: a Kafka-protocol broker on this machine for development, where no Kafka can
// be installed: librdkafka's mock cluster (src/log/kafka-mock-cluster.ts) in this process. It
// keeps everything in memory; stopping it loses every record.
import { KafkaMockCluster } from "../log/kafka-mock-cluster.ts";

export const BROKERS_DEFAULT = 3;

export interface DevKafkaOptions {
  brokers: number;
  topic: { name: string; partitions: number } | undefined;
}

/**
 * Starts the mock cluster, creates the topic if asked, prints the bootstrap servers as one line
 * on stdout, and resolves once SIGINT or SIGTERM has stopped the cluster (the caller exits 0).
 */
export async function runDevKafka(options: DevKafkaOptions): Promise<void> {
  const cluster = KafkaMockCluster.start({ brokers: options.brokers });
  try {
    if (options.topic !== undefined) cluster.createTopic(options.topic.name, options.topic.partitions);
  } catch (error) {
    cluster.stop();
    throw error;
  }
  process.stdout.write(`bootstrap servers: ${cluster.bootstrapServers}\n`);
  await untilStopSignal();
  cluster.stop();
}

/** Resolves on the first SIGINT or SIGTERM; until then a timer keeps the process alive. */
function untilStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    // librdkafka's threads do not hold Bun's event loop open; this timer does.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const onSignal = () => {
      clearInterval(keepAlive);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
