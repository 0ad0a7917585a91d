// An in-process Kafka-protocol broker for tests (librdkafka's mock cluster); the test stops it.
// It fails, never skips, when librdkafka1 is missing: a test that needs Kafka must not pass without it.
import { KafkaMockCluster } from "../../src/log/kafka-mock-cluster.ts";

export interface KafkaMockOptions {
  /** Broker count, ids 1..brokers; 1 if not given. */
  brokers?: number;
  /** Created before the cluster is returned, each with replication factor 1. */
  topics?: { name: string; partitions: number }[];
}

/** Starts a mock cluster with the given topics; call stop() on it (in afterAll/afterEach). */
export function startKafkaMock(options: KafkaMockOptions = {}): KafkaMockCluster {
  const cluster = KafkaMockCluster.start(options.brokers === undefined ? {} : { brokers: options.brokers });
  try {
    for (const topic of options.topics ?? []) cluster.createTopic(topic.name, topic.partitions);
  } catch (error) {
    cluster.stop();
    throw error;
  }
  return cluster;
}

export type { KafkaMockCluster };
