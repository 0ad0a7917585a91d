// `oms tail` prints every record of the log topic as one JSON line with its partition and
// offset and its decoded events (money as exact decimal dollars), marks epoch markers, stops
// at the end of every partition unless --follow, follows new records with --follow, and exits
// non-zero naming topic, partition and offset at a record that does not decode. Each run is a
// `oms tail` child process; the file starts its own Kafka mock.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Producer } from "kafkajs";
import { decodeRecord } from "../../src/log/record-codec.ts";
import { startKafkaMock, type KafkaMockCluster } from "../support/kafka-mock.ts";
import { commands, connectProducer, seededRandom, ShardOwners, TestClock, tradeRandomly, usd } from "../projector/shard-owners.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
/** How long a test waits for what should take a few seconds; a bound, not a measurement. */
const WAIT_MS_MAX = 20_000;

let kafka: KafkaMockCluster;
let producer: Producer;
const children = new Set<TailProcess>();

beforeAll(async () => {
  kafka = startKafkaMock({ brokers: 1 });
  producer = await connectProducer(kafka.bootstrapServers);
});

afterAll(async () => {
  for (const child of children) child.process.kill("SIGKILL");
  await producer.disconnect();
  kafka.stop();
});

function topicWithConfig(topic: string, partitions: number): { owners: ShardOwners; configPath: string } {
  kafka.createTopic(topic, partitions);
  const configPath = join(mkdtempSync(join(tmpdir(), "oms-tail-")), "cluster.json");
  const config = { shardCount: partitions, logLevel: "info", kafka: { brokers: kafka.bootstrapServers, topic, clientId: "tail-test" } };
  writeFileSync(configPath, JSON.stringify(config));
  return { owners: new ShardOwners(producer, topic, partitions), configPath };
}

class TailProcess {
  readonly process;
  stdout = "";
  stderr = "";
  readonly #drained: Promise<unknown>;

  constructor(args: string[]) {
    const child = Bun.spawn([process.execPath, join(REPO_ROOT, "src/cli/main.ts"), "tail", ...args], { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    this.process = child;
    children.add(this);
    // Drained as they come, so a chatty child never blocks on a full pipe.
    this.#drained = Promise.all([
      (async () => {
        const text = new TextDecoder();
        for await (const chunk of child.stdout) this.stdout += text.decode(chunk, { stream: true });
      })(),
      (async () => {
        const text = new TextDecoder();
        for await (const chunk of child.stderr) this.stderr += text.decode(chunk, { stream: true });
      })(),
    ]);
  }

  lines(): Record<string, unknown>[] {
    return this.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async exited(): Promise<number> {
    const code = await this.process.exited;
    await this.#drained;
    children.delete(this);
    return code;
  }

  async waitFor(what: string, condition: () => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_MS_MAX;
    while (!condition()) {
      if (this.process.exitCode !== null) throw new Error(`oms tail exited ${this.process.exitCode} before ${what}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${this.stderr}`);
      await Bun.sleep(20);
    }
  }
}

/** Alice's day on one partition, then an owner change: every line of it is checked field by field. */
function aliceTrades(owners: ShardOwners, clock: TestClock): void {
  owners.decide(commands.create("alice", clock.next()));
  owners.decide(commands.deposit("alice", "1234.5678", clock.next()));
  owners.decide(commands.limit("alice", "a-1", "buy", "AAPL", 3n, "150.25", clock.next()));
  owners.decide(commands.fill("alice", "a-1", 1, 2n, "150.1", clock.next()));
  owners.newEpoch(owners.shardOf("alice"));
  owners.decide(commands.cancel("alice", "a-1", clock.next()));
}

test("from the beginning it prints every record once, in offset order per partition, decoded, then exits 0", async () => {
  const topic = "wal-tail-all";
  const { owners, configPath } = topicWithConfig(topic, 3);
  const clock = new TestClock();
  aliceTrades(owners, clock);
  const traders = ["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"];
  for (const id of traders) {
    owners.decide(commands.create(id, clock.next()));
    owners.decide(commands.deposit(id, "5000", clock.next()));
  }
  tradeRandomly(owners, seededRandom(3), clock, traders, 150);
  await owners.flush();

  const tail = new TailProcess(["--config", configPath, "--from-beginning"]);
  expect(await tail.exited()).toBe(0);
  const lines = tail.lines();
  expect(lines.length).toBe(owners.sent.length);
  for (let partition = 0; partition < 3; partition++) {
    const printed = lines.filter((line) => line["partition"] === partition);
    const sent = owners.sent.filter((record) => record.partition === partition);
    expect(printed.map((line) => line["offset"])).toEqual(sent.map((record) => String(record.offset)));
    for (const [index, line] of printed.entries()) {
      const { header, record } = decodeRecord(sent[index]?.value ?? Buffer.alloc(0));
      expect(line).toMatchObject({
        topic,
        shard: header.shard,
        epoch: String(header.epoch),
        sequence: String(header.sequence),
        accountId: record.accountId,
        epochMarker: record.accountId === "" && record.events.length === 0,
      });
      expect((line["events"] as { kind: string }[]).map((event) => event.kind)).toEqual(record.events.map((event) => event.kind));
    }
  }

  const alice = lines.filter((line) => line["partition"] === owners.shardOf("alice")).slice(0, 6);
  const at = (line: Record<string, unknown> | undefined) => ((line?.["events"] as { atMs: number }[] | undefined) ?? [])[0]?.atMs;
  expect(alice.map((line) => [line["offset"], line["epoch"], line["sequence"], line["epochMarker"]])).toEqual([
    ["0", "1", "0", false],
    ["1", "1", "1", false],
    ["2", "1", "2", false],
    ["3", "1", "3", false],
    ["4", "2", "4", true],
    ["5", "2", "4", false],
  ]);
  expect(alice[1]?.["events"]).toEqual([{ kind: "cash_deposited", amount: "1234.5678", atMs: at(alice[1]) }]);
  expect(alice[2]?.["events"]).toEqual([
    {
      kind: "order_accepted",
      terms: {
        id: "a-1",
        clientOrderId: "c-a-1",
        symbol: "AAPL",
        side: "buy",
        type: "limit",
        timeInForce: "gtc",
        qty: "3",
        limitPrice: "150.25",
        stopPrice: null,
        collarPrice: "150.25",
        replaces: null,
      },
      holdCash: "450.75",
      holdQty: "0",
      atMs: at(alice[2]),
    },
  ]);
  expect(alice[3]?.["events"]).toEqual([{ kind: "order_filled", orderId: "a-1", executionSeq: 1, qty: "2", price: "150.1", atMs: at(alice[3]) }]);
  expect(alice[4]).toMatchObject({ accountId: "", events: [] });
  expect(alice[5]?.["events"]).toEqual([{ kind: "order_cancel_requested", orderId: "a-1", atMs: at(alice[5]) }]);
}, 30_000);

test("from the end without --follow it prints nothing and exits 0; with --follow it prints what is written next", async () => {
  const topic = "wal-tail-follow";
  const { owners, configPath } = topicWithConfig(topic, 2);
  const clock = new TestClock();
  owners.decide(commands.create("old", clock.next()));
  await owners.flush();

  const atEnd = new TailProcess(["--config", configPath]);
  expect(await atEnd.exited()).toBe(0);
  expect(atEnd.stdout).toBe("");

  const follow = new TailProcess(["--config", configPath, "--follow"]);
  await follow.waitFor("tail to read its start offsets", () => follow.stderr.includes("tail: reading"));
  owners.decide(commands.create("new", clock.next()));
  owners.decide(commands.deposit("new", "10.01", clock.next()));
  await owners.flush();
  await follow.waitFor("the two new records", () => follow.lines().length >= 2);
  const newShard = owners.shardOf("new");
  const oldShardOffset = newShard === owners.shardOf("old") ? 1n : 0n;
  expect(follow.lines().map((line) => [line["partition"], line["offset"], line["accountId"]])).toEqual([
    [newShard, String(oldShardOffset), "new"],
    [newShard, String(oldShardOffset + 1n), "new"],
  ]);
  follow.process.kill("SIGTERM");
  expect(await follow.exited()).toBe(0);
  expect(follow.lines().length).toBe(2);
}, 30_000);

test("a record that does not decode stops tail non-zero, naming topic, partition and offset, after the records before it", async () => {
  const topic = "wal-tail-garbage";
  const { owners, configPath } = topicWithConfig(topic, 2);
  owners.queueRecord(1, { shard: 1, epoch: 1n, sequence: 0n }, { accountId: "bea", events: [{ kind: "account_created", atMs: 1 }] });
  owners.queueRecord(1, { shard: 1, epoch: 1n, sequence: 1n }, { accountId: "bea", events: [{ kind: "cash_deposited", amount: usd("2"), atMs: 2 }] });
  owners.queueRaw(1, new TextEncoder().encode("this is not a log record"));
  owners.queueRecord(1, { shard: 1, epoch: 1n, sequence: 2n }, { accountId: "bea", events: [{ kind: "cash_deposited", amount: usd("3"), atMs: 3 }] });
  await owners.flush();

  const tail = new TailProcess(["--config", configPath, "--from-beginning"]);
  expect(await tail.exited()).toBe(1);
  expect(tail.stderr).toContain(`oms: topic ${topic} partition 1 offset 2: log record: `);
  expect(tail.lines().map((line) => [line["partition"], line["offset"]])).toEqual([
    [1, "0"],
    [1, "1"],
  ]);
}, 30_000);
