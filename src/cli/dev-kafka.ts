// `oms dev-kafka`: a Kafka-protocol broker on this machine for development, where no Kafka can
// be installed: librdkafka's mock cluster (src/log/kafka-mock-cluster.ts) in this process. It
// keeps everything in memory; stopping it loses every record.
import { parseArgs } from "node:util";
import { KafkaMockCluster } from "../log/kafka-mock-cluster.ts";

export const DEV_KAFKA_USAGE = `  oms dev-kafka [--brokers 3] [--topic NAME --partitions N]
      a Kafka-protocol broker in memory (librdkafka's mock cluster, needs librdkafka1);
      prints "bootstrap servers: HOST:PORT,..." and runs until SIGINT or SIGTERM`;

const BROKERS_DEFAULT = 3;

interface DevKafkaOptions {
  brokers: number;
  topic: { name: string; partitions: number } | undefined;
}

/**
 * Starts the mock cluster, creates the topic if asked, prints the bootstrap servers as one line
 * on stdout, and resolves once SIGINT or SIGTERM has stopped the cluster (the caller exits 0).
 */
export async function runDevKafka(args: string[]): Promise<void> {
  const options = parseDevKafkaArgs(args);
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

function parseDevKafkaArgs(args: string[]): DevKafkaOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: { brokers: { type: "string" }, topic: { type: "string" }, partitions: { type: "string" } },
  });
  const brokers = values.brokers === undefined ? BROKERS_DEFAULT : parseCount("--brokers", values.brokers);
  if ((values.topic === undefined) !== (values.partitions === undefined)) {
    throw new Error("oms dev-kafka: --topic and --partitions go together");
  }
  if (values.topic === undefined || values.partitions === undefined) return { brokers, topic: undefined };
  if (values.topic === "") throw new Error("oms dev-kafka: --topic must not be empty");
  return { brokers, topic: { name: values.topic, partitions: parseCount("--partitions", values.partitions) } };
}

function parseCount(flag: string, text: string): number {
  const count = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`oms dev-kafka: ${flag} must be a whole number >= 1, got "${text}"`);
  }
  return count;
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
