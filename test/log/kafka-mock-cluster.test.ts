// librdkafka's mock cluster, driven through bun:ffi, speaks enough Kafka for kafkajs and kcat:
// topics made through FFI show in metadata, records come back in order through a consumer group,
// a downed broker fails sends until it is up again, injected errors and delays reach the client,
// and stop() closes every port. Each test starts its own cluster and fails if it cannot.
import { afterEach, describe, expect, test } from "bun:test";
import { CompressionTypes, Kafka, logLevel, Partitioners, type Consumer, type KafkaMessage, type Producer } from "kafkajs";
import { connect } from "node:net";
import { startKafkaMock, type KafkaMockCluster } from "../support/kafka-mock.ts";

const REPO_ROOT = `${import.meta.dir}/../..`;
/** How long a test waits for something that should happen within a second; a bound, not a measure. */
const WAIT_MS_MAX = 15_000;

const running: KafkaMockCluster[] = [];
const clients: (Producer | Consumer)[] = [];

afterEach(async () => {
  // Clients first: a client still connected when its broker goes away would retry in the background.
  await Promise.all(clients.splice(0).map((client) => client.disconnect()));
  for (const cluster of running.splice(0)) cluster.stop();
});

function cluster(options: Parameters<typeof startKafkaMock>[0]): KafkaMockCluster {
  const started = startKafkaMock(options);
  running.push(started);
  return started;
}

/** Short timeouts and few retries so that a broker that is down fails a send quickly. */
function kafkaFor(mock: KafkaMockCluster, requestTimeoutMs = 2_000): Kafka {
  return new Kafka({
    clientId: "oms-kafka-mock-test",
    brokers: mock.bootstrapServers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    authenticationTimeout: 1_000,
    requestTimeout: requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200, factor: 0.2, multiplier: 2 },
  });
}

async function producerFor(mock: KafkaMockCluster, requestTimeoutMs = 2_000): Promise<Producer> {
  const producer = kafkaFor(mock, requestTimeoutMs).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    // The mock's Metadata names controller 0, which kafkajs's idempotent producer cannot find.
    idempotent: false,
    maxInFlightRequests: 1,
    metadataMaxAge: 60_000,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200, factor: 0.2, multiplier: 2 },
  });
  clients.push(producer);
  await producer.connect();
  return producer;
}

function sendOne(producer: Producer, topic: string, partition: number, value: string) {
  return producer.send({ topic, acks: -1, timeout: 2_000, compression: CompressionTypes.None, messages: [{ partition, key: value, value }] });
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(20);
  }
}

interface KcatMetadata {
  brokers: { id: number; name: string }[];
  topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
}

async function kcatMetadata(bootstrapServers: string): Promise<KcatMetadata> {
  const kcat = Bun.spawn(["kcat", "-L", "-J", "-m", "5", "-b", bootstrapServers], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(kcat.stdout).text(), new Response(kcat.stderr).text(), kcat.exited]);
  if (code !== 0) throw new Error(`kcat -L exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as KcatMetadata;
}

function connectionRefused(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(":");
  return new Promise((resolve) => {
    const socket = connect({ host: host ?? "", port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

describe("KafkaMockCluster topics", () => {
  test("a topic created through FFI shows its partitions to kafkajs and to kcat", async () => {
    const mock = cluster({ brokers: 3, topics: [{ name: "orders", partitions: 6 }] });
    expect(mock.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$/);

    const admin = kafkaFor(mock).admin({ retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } });
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ["orders"] });
      expect(topics.map((topic) => topic.name)).toEqual(["orders"]);
      expect(topics[0]?.partitions.map((partition) => partition.partitionId).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await admin.disconnect();
    }

    const metadata = await kcatMetadata(mock.bootstrapServers);
    expect(metadata.brokers.map((broker) => broker.id).sort()).toEqual([1, 2, 3]);
    expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual(mock.bootstrapServers.split(",").sort());
    const orders = metadata.topics.find((topic) => topic.topic === "orders");
    expect(orders?.partitions.length).toBe(6);
    for (const partition of orders?.partitions ?? []) expect([1, 2, 3]).toContain(partition.leader);
  });

  test("createTopic refuses a duplicate, zero partitions and more replicas than brokers, by error name", () => {
    const mock = cluster({ brokers: 2, topics: [{ name: "t", partitions: 1 }] });
    expect(() => mock.createTopic("t", 1)).toThrow(/TOPIC_ALREADY_EXISTS/);
    expect(() => mock.createTopic("u", 0)).toThrow(/INVALID_PARTITIONS/);
    expect(() => mock.createTopic("u", 1, 3)).toThrow(/INVALID_REPLICATION_FACTOR/);
    mock.createTopic("u", 2, 2);
    expect(() => mock.brokerDown(7)).toThrow(/BROKER_NOT_AVAILABLE/);
  });
});

describe("KafkaMockCluster records", () => {
  test("records sent with acks=-1 to chosen partitions come back in order with keys, values and headers", async () => {
    const partitions = 3;
    const perPartition = 20;
    const mock = cluster({ brokers: 3, topics: [{ name: "wal", partitions }] });
    const producer = await producerFor(mock);
    const sent = new Map<number, { key: string; value: Buffer; headers: Record<string, string> }[]>();
    for (let i = 0; i < perPartition; i++) {
      for (let partition = 0; partition < partitions; partition++) {
        // Bytes 0..255 in the value, so a codec that mangles binary would show.
        const value = Buffer.from([partition, i, 0, 255, 10, 13]);
        const record = { key: `acct-${partition}-${i}`, value, headers: { "oms-seq": String(i), "oms-shard": String(partition) } };
        sent.set(partition, [...(sent.get(partition) ?? []), record]);
        const [result] = await producer.send({
          topic: "wal",
          acks: -1,
          timeout: 2_000,
          compression: CompressionTypes.None,
          messages: [{ partition, key: record.key, value: record.value, headers: record.headers }],
        });
        expect(result).toMatchObject({ topicName: "wal", partition, errorCode: 0, baseOffset: String(i) });
      }
    }

    const consumer = kafkaFor(mock).consumer({
      groupId: "kafka-mock-test",
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
      metadataMaxAge: 60_000,
      maxBytesPerPartition: 1_048_576,
      minBytes: 1,
      maxBytes: 10_485_760,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
      // The mock has no read_committed filtering; nothing here is transactional.
      readUncommitted: true,
      retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200, factor: 0.2, multiplier: 2 },
    });
    clients.push(consumer);
    const received = new Map<number, KafkaMessage[]>();
    let count = 0;
    await consumer.connect();
    await consumer.subscribe({ topics: ["wal"], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      autoCommitThreshold: null,
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ partition, message }) => {
        received.set(partition, [...(received.get(partition) ?? []), message]);
        count++;
      },
    });
    await waitFor(`${partitions * perPartition} records`, () => count >= partitions * perPartition);

    expect(count).toBe(partitions * perPartition);
    for (let partition = 0; partition < partitions; partition++) {
      const messages = received.get(partition) ?? [];
      expect(messages.map((message) => message.offset)).toEqual([...Array(perPartition).keys()].map(String));
      expect(
        messages.map((message) => ({
          key: message.key?.toString(),
          value: message.value,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, header]) => [name, String(header)])),
        })),
      ).toEqual(sent.get(partition) ?? []);
    }
  });
});

describe("KafkaMockCluster failures", () => {
  test("a send fails while the broker is down and succeeds once it is up again", async () => {
    const mock = cluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    const producer = await producerFor(mock);
    await sendOne(producer, "t", 0, "before");

    mock.brokerDown(1);
    expect(await connectionRefused(mock.bootstrapServers)).toBe(true);
    await expect(sendOne(producer, "t", 0, "while-down")).rejects.toThrow(/ECONNREFUSED/);

    mock.brokerUp(1);
    const [result] = await sendOne(producer, "t", 0, "after");
    expect(result?.errorCode).toBe(0);
  });

  test("errors pushed for Produce reach the producer in order, and clearing them lets sends through", async () => {
    const mock = cluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    const producer = await producerFor(mock);
    const PRODUCE = 0;
    const MESSAGE_TOO_LARGE = 10;
    const INVALID_REQUIRED_ACKS = 21;
    mock.pushRequestErrors(PRODUCE, [MESSAGE_TOO_LARGE, INVALID_REQUIRED_ACKS]);
    await expect(sendOne(producer, "t", 0, "a")).rejects.toMatchObject({ type: "MESSAGE_TOO_LARGE" });
    await expect(sendOne(producer, "t", 0, "b")).rejects.toMatchObject({ type: "INVALID_REQUIRED_ACKS" });
    expect((await sendOne(producer, "t", 0, "c"))[0]?.errorCode).toBe(0);

    mock.pushRequestErrors(PRODUCE, [MESSAGE_TOO_LARGE, MESSAGE_TOO_LARGE]);
    mock.clearRequestErrors(PRODUCE);
    expect((await sendOne(producer, "t", 0, "d"))[0]?.baseOffset).toBe("1");
  });

  test("a broker delay longer than the request timeout fails the send; removing it lets sends through", async () => {
    const mock = cluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    const producer = await producerFor(mock, 300);
    await sendOne(producer, "t", 0, "warm");
    mock.setRtt(1, 2_000);
    await expect(sendOne(producer, "t", 0, "slow")).rejects.toThrow(/Produce.*timed out/);
    mock.setRtt(1, 0);
    expect((await sendOne(producer, "t", 0, "fast"))[0]?.errorCode).toBe(0);
  });
});

describe("KafkaMockCluster lifecycle", () => {
  test("stop() closes every broker's port, and a stopped cluster refuses further use", async () => {
    const mock = startKafkaMock({ brokers: 3, topics: [{ name: "t", partitions: 2 }] });
    const addresses = mock.bootstrapServers.split(",");
    for (const address of addresses) expect(await connectionRefused(address)).toBe(false);
    mock.stop();
    for (const address of addresses) expect(await connectionRefused(address)).toBe(true);
    mock.stop();
    expect(() => mock.createTopic("u", 1)).toThrow(/stopped/);
    expect(() => mock.brokerDown(1)).toThrow(/stopped/);
  });

  test("oms dev-kafka prints the bootstrap servers, creates the topic, and exits 0 on SIGTERM", async () => {
    const proc = Bun.spawn(
      [process.execPath, "src/cli/main.ts", "dev-kafka", "--brokers", "1", "--topic", "t", "--partitions", "4"],
      { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    try {
      let stdout = "";
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stdout) stdout += decoder.decode(chunk, { stream: true });
      })();
      await waitFor("the bootstrap servers line", () => stdout.includes("\n") || proc.exitCode !== null);
      const line = stdout.split("\n")[0] ?? "";
      const match = /^bootstrap servers: (127\.0\.0\.1:\d+)$/.exec(line);
      expect(match).not.toBeNull();
      const metadata = await kcatMetadata(match?.[1] ?? "");
      expect(metadata.brokers.map((broker) => broker.id)).toEqual([1]);
      expect(metadata.topics.find((topic) => topic.topic === "t")?.partitions.length).toBe(4);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });
});
