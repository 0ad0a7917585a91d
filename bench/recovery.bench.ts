// The recovery level: how fast a shard's log replays, and how long an `oms node` whose log
// holds a million events takes to serve again. The log is built first, from commands decided
// and applied on a scratch ledger so that every event in it is valid: accounts opened and
// funded, limit buys and sells, fills and cancels, spread over the shards by account as the
// node spreads them. Replay starts from no snapshot, the worst case a restart can meet; a last
// start from snapshots taken at the end of the log shows the usual case.
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardOf } from "../src/config/shard-of.ts";
import type { Command } from "../src/core/command.ts";
import { encodeLedger } from "../src/core/ledger-codec.ts";
import { apply, decide, type Ledger } from "../src/core/state-machine.ts";
import type { EventLog } from "../src/log/event-log.ts";
import { KafkaEventLog } from "../src/log/kafka-event-log.ts";
import { KafkaMockCluster } from "../src/log/kafka-mock-cluster.ts";
import { decodeRecord, encodeRecord } from "../src/log/record-codec.ts";
import { SqliteEventLog } from "../src/log/sqlite-event-log.ts";
import { WAL_SHARD_TABLE_PREFIX } from "../src/log/sqlite-wal-schema.ts";
import { recoverShard } from "../src/node/recovery.ts";
import type { ShardLedger } from "../src/node/shard-ledgers.ts";
import type { SnapshotStore } from "../src/snapshot/snapshot-store.ts";
import { SqliteSnapshotStore } from "../src/snapshot/sqlite-snapshot-store.ts";
import type { BenchLevel } from "./lib/level.ts";
import { OrderFlow, TRADING_MIX } from "./lib/order-flow.ts";
import { median, type Figure } from "./lib/report.ts";
import { freePort } from "../src/rpc/free-port.ts";
import { waitUntilServing } from "../src/rpc/wait-until-serving.ts";

const LEVEL = "recovery";
const SHARD_COUNT = 4;
const EVENTS_IN_LOG = 1_000_000;
const ACCOUNT_COUNT = 10_000;
const POSITIONS_PER_ACCOUNT = 2;
/** The epoch of the owner that wrote the log; a restarted node claims the next one. */
const WRITER_EPOCH = 1n;
/** Records awaited at a time while building: a few group-commit batches' worth. */
const BUILD_RECORDS_IN_FLIGHT_MAX = 16_384;
const REPLAY_RUNS = 2;
/** Passes over the records when timing the codec; the fastest counts (the cores are shared). */
const CODEC_PASSES = 5;
/** Records the codec is timed on: shard 0's first, enough for a steady rate without holding the whole log decoded. */
const CODEC_RECORDS = 200_000;
const NODE_STARTS = 1;
const NODE_ID = "bench-node";
/** Within what a mock partition keeps (~5 MiB, ~20,000 of these records each). */
const KAFKA_EVENTS_IN_LOG = 60_000;
const KAFKA_ACCOUNT_COUNT = 2_000;
const KAFKA_TOPIC = "oms.bench.wal";
const SNAPSHOTS_AT_END = "snapshots-at-end.sqlite";
const REPO_ROOT = join(import.meta.dir, "..");
/** A million events replay in seconds; a node that takes this long is broken, not slow. */
const SERVING_TIMEOUT_MS = 120_000;
const SERVING_POLL_MS = 20;

export const level: BenchLevel = {
  name: LEVEL,
  budgetSeconds: 60,
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), "oms-bench-recovery-"));
    try {
      return await measure(dir, log);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function measure(dir: string, log: (line: string) => void): Promise<Figure[]> {
  const walPath = join(dir, "wal.sqlite");
  const walLog = SqliteEventLog.open(walPath);
  const built = await buildLog(walLog, { events: EVENTS_IN_LOG, accountCount: ACCOUNT_COUNT, seed: 7 }).finally(() => walLog.close());
  log(`log built in ${(built.ms / 1000).toFixed(1)} s: ${built.records.toLocaleString("en-US")} records, ${built.events.toLocaleString("en-US")} events on ${SHARD_COUNT} shards (${describeKinds(built.kinds)})`);
  const codec = measureCodec(walPath);
  log(`record codec on ${codec.records.toLocaleString("en-US")} of the log's records: decode ${codec.decodeUs.toFixed(2)} µs, encode ${codec.encodeUs.toFixed(2)} µs a record`);
  const replays: number[] = [];
  let snapshotText = "";
  for (let run = 1; run <= REPLAY_RUNS; run += 1) {
    const replay = await replaySqlite(walPath, join(dir, `snapshots-${run}.sqlite`), built.events);
    log(`replay run ${run}: ${replay.eventsPerSec.toLocaleString("en-US")} events/s`);
    replays.push(replay.eventsPerSec);
    if (run === REPLAY_RUNS) {
      const saved = await saveSnapshots(join(dir, SNAPSHOTS_AT_END), replay.shards);
      snapshotText = `${(saved.bytes / 2 ** 20).toFixed(0)} MiB of snapshots encoded and saved in ${(saved.ms / 1000).toFixed(1)} s`;
      log(`snapshots of every shard at the end of the log: ${snapshotText}`);
    }
  }
  const empty = await timeNodeStart(join(dir, "node-empty"), []);
  log(`oms node start on an empty log: ${(empty.ms / 1000).toFixed(2)} s`);
  const starts: NodeStart[] = [];
  for (let start = 1; start <= NODE_STARTS; start += 1) {
    const timed = await timeNodeStart(join(dir, `node-${start}`), [{ from: walPath, to: "wal.sqlite" }]);
    log(`oms node start ${start} on ${built.events.toLocaleString("en-US")} events: ${(timed.ms / 1000).toFixed(2)} s (${timed.phases})`);
    starts.push(timed);
  }
  const fromSnapshot = await timeNodeStart(join(dir, "node-snapshot"), [
    { from: walPath, to: "wal.sqlite" },
    { from: join(dir, SNAPSHOTS_AT_END), to: "snapshots.sqlite" },
  ]);
  log(`oms node start from snapshots at the end of the log: ${(fromSnapshot.ms / 1000).toFixed(2)} s (${fromSnapshot.phases})`);
  const kafka = await measureKafka(dir, log);
  const eventsText = `${built.events.toLocaleString("en-US")} events in ${built.records.toLocaleString("en-US")} records on ${SHARD_COUNT} shards, no snapshot`;
  const startMs = starts.map((start) => start.ms);
  return [
    {
      level: LEVEL,
      name: "replay_events_per_sec",
      value: Math.round(median(replays)),
      unit: "events/s",
      target: { value: 500_000, comparison: ">=" },
      note: `recoverShard() of every shard from SQLite, one after another; ${eventsText}; median of ${REPLAY_RUNS} runs (${replays.map((r) => r.toLocaleString("en-US")).join(", ")})`,
    },
    {
      level: LEVEL,
      name: "record_decode_us",
      value: round2(codec.decodeUs),
      unit: "µs",
      note: `decodeRecord() of shard 0's first ${codec.records.toLocaleString("en-US")} records of the log (bytes as SQLite returns them), per record; fastest of ${CODEC_PASSES} passes`,
    },
    {
      level: LEVEL,
      name: "record_encode_us",
      value: round2(codec.encodeUs),
      unit: "µs",
      note: `encodeRecord() of the same records, decoded, per record; fastest of ${CODEC_PASSES} passes`,
    },
    {
      level: LEVEL,
      name: "node_start_seconds",
      value: round2(median(startMs) / 1000),
      unit: "s",
      note: `spawn of oms node until grpc Health is SERVING; ${eventsText}; ${starts.map((start) => `${(start.ms / 1000).toFixed(2)} s: ${start.phases}`).join("; ")}`,
    },
    {
      level: LEVEL,
      name: "node_start_empty_seconds",
      value: round2(empty.ms / 1000),
      unit: "s",
      note: "the same start on an empty log: what a start costs besides recovery",
    },
    {
      level: LEVEL,
      name: "node_start_from_snapshot_seconds",
      value: round2(fromSnapshot.ms / 1000),
      unit: "s",
      note: `the same log with every shard's snapshot at its end (${snapshotText}), the usual restart, as snapshot.everyRecords (10,000 by default) keeps the tail after a snapshot short: ${fromSnapshot.phases}`,
    },
    kafka,
  ];
}

interface BuiltLog {
  records: number;
  events: number;
  kinds: Map<string, number>;
  ms: number;
}

interface LogContent {
  events: number;
  accountCount: number;
  seed: number;
}

/** Decides and applies the order flow on a scratch ledger and appends each command's events as one record. */
async function buildLog(eventLog: EventLog, content: LogContent): Promise<BuiltLog> {
  const startedMs = performance.now();
  const flow = new OrderFlow({ accountCount: content.accountCount, positionsPerAccount: POSITIONS_PER_ACCOUNT, seed: content.seed, mix: TRADING_MIX });
  const ledger: Ledger = new Map();
  const shardOfAccount = new Map(flow.accounts.map((accountId) => [accountId, shardOf(accountId, SHARD_COUNT)]));
  const nextSequence = Array.from({ length: SHARD_COUNT }, () => 0n);
  const kinds = new Map<string, number>();
  let inFlight: Promise<bigint>[] = [];
  let records = 0;
  let events = 0;
  // Appends are made without waiting, BUILD_RECORDS_IN_FLIGHT_MAX at a time, so that the log
  // commits them in large batches.
  const append = (command: Command): void => {
    const decision = decide(ledger, command);
    if (!decision.ok) throw new Error(`recovery bench: ${command.kind} rejected while building the log: ${decision.rejection.message}`);
    if (decision.events.length === 0) return;
    for (const event of decision.events) {
      apply(ledger, command.accountId, event);
      kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
    }
    const shard = shardOfAccount.get(command.accountId) ?? 0;
    const sequence = nextSequence[shard] ?? 0n;
    nextSequence[shard] = sequence + 1n;
    inFlight.push(eventLog.append({ shard, epoch: WRITER_EPOCH, sequence }, { accountId: command.accountId, events: decision.events }));
    records += 1;
    events += decision.events.length;
  };
  // Awaited only when full: every await lets the log commit what it has gathered so far.
  const drain = async () => {
    await Promise.all(inFlight);
    inFlight = [];
  };
  for (const command of flow.setup()) {
    append(command);
    if (inFlight.length >= BUILD_RECORDS_IN_FLIGHT_MAX) await drain();
  }
  while (events < content.events) {
    append(flow.next());
    if (inFlight.length >= BUILD_RECORDS_IN_FLIGHT_MAX) await drain();
  }
  await drain();
  return { records, events, kinds, ms: performance.now() - startedMs };
}

interface CodecTimes {
  records: number;
  decodeUs: number;
  encodeUs: number;
}

/** The record codec alone, on records of the log: what replay pays to decode and the commit path to encode. */
function measureCodec(walPath: string): CodecTimes {
  const db = new Database(walPath, { readonly: true, strict: true, safeIntegers: true });
  let blobs: Uint8Array[];
  try {
    blobs = db
      .query<{ record: Uint8Array }, [number]>(`SELECT record FROM ${WAL_SHARD_TABLE_PREFIX}0 ORDER BY "offset" LIMIT ?`)
      .all(CODEC_RECORDS)
      .map((row) => row.record);
  } finally {
    db.close();
  }
  const decoded = blobs.map((bytes) => decodeRecord(bytes));
  let decodeMs = Number.POSITIVE_INFINITY;
  let encodeMs = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < CODEC_PASSES; pass += 1) {
    let startedMs = performance.now();
    for (const bytes of blobs) decodeRecord(bytes);
    decodeMs = Math.min(decodeMs, performance.now() - startedMs);
    startedMs = performance.now();
    for (const { header, record } of decoded) encodeRecord(header, record);
    encodeMs = Math.min(encodeMs, performance.now() - startedMs);
  }
  return { records: blobs.length, decodeUs: (decodeMs * 1000) / blobs.length, encodeUs: (encodeMs * 1000) / blobs.length };
}

interface Replay {
  eventsPerSec: number;
  /** What each shard recovered to, and where its log ended. */
  shards: { shard: ShardLedger; endOffset: bigint }[];
}

/** Replays every shard from the log with no snapshot, one after another. */
async function replayAll(eventLog: EventLog, snapshots: SnapshotStore, eventsExpected: number): Promise<Replay> {
  Bun.gc(true);
  let events = 0;
  const shards: Replay["shards"] = [];
  const startedMs = performance.now();
  for (let shard = 0; shard < SHARD_COUNT; shard += 1) {
    const { ledger, stats } = await recoverShard(shard, eventLog, snapshots);
    events += stats.eventsReplayed;
    shards.push({ shard: ledger, endOffset: stats.endOffset });
  }
  const seconds = (performance.now() - startedMs) / 1000;
  if (events !== eventsExpected) throw new Error(`recovery bench: replayed ${events} events, the log holds ${eventsExpected}`);
  return { eventsPerSec: Math.round(events / seconds), shards };
}

async function replaySqlite(walPath: string, snapshotsPath: string, eventsExpected: number): Promise<Replay> {
  const eventLog = SqliteEventLog.open(walPath);
  const snapshots = SqliteSnapshotStore.open(snapshotsPath);
  try {
    return await replayAll(eventLog, snapshots, eventsExpected);
  } finally {
    await eventLog.close();
    await snapshots.close();
  }
}

/** Saves each shard's ledger as a snapshot at the end of its log, as a node does; returns the bytes and time. */
async function saveSnapshots(path: string, shards: Replay["shards"]): Promise<{ bytes: number; ms: number }> {
  const startedMs = performance.now();
  const store = SqliteSnapshotStore.open(path);
  let bytes = 0;
  try {
    for (const { shard, endOffset } of shards) {
      const state = encodeLedger(shard.ledger);
      bytes += state.byteLength;
      await store.save({ shard: shard.shard, nextOffset: endOffset, nextSequence: shard.nextSequence, epoch: shard.epoch, state });
    }
  } finally {
    await store.close();
  }
  return { bytes, ms: performance.now() - startedMs };
}

/**
 * The same replay from the Kafka log, on librdkafka's mock broker in this process. A mock
 * partition keeps only its newest ~5 MiB, so this log is a small fraction of the SQLite one. The first
 * replay joins the reader's consumer group (the broker's 3 s rebalance delay, paid once per
 * process); the second, on the joined reader, is the replay rate.
 */
async function measureKafka(dir: string, log: (line: string) => void): Promise<Figure> {
  const cluster = KafkaMockCluster.start({ brokers: 1 });
  try {
    cluster.createTopic(KAFKA_TOPIC, SHARD_COUNT);
    const sink = {
      info: () => {},
      warn: (msg: string) => log(`kafka: ${msg}`),
      error: (msg: string) => log(`kafka: ${msg}`),
    };
    const eventLog = await KafkaEventLog.open({ brokers: cluster.bootstrapServers.split(","), topic: KAFKA_TOPIC, clientId: "oms-bench", shardCount: SHARD_COUNT, logger: sink });
    const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots-kafka.sqlite"));
    try {
      const built = await buildLog(eventLog, { events: KAFKA_EVENTS_IN_LOG, accountCount: KAFKA_ACCOUNT_COUNT, seed: 11 });
      const joining = (await replayAll(eventLog, snapshots, built.events)).eventsPerSec;
      const joined = (await replayAll(eventLog, snapshots, built.events)).eventsPerSec;
      log(`kafka (mock broker): ${built.events.toLocaleString("en-US")} events written in ${(built.ms / 1000).toFixed(1)} s; replay ${joining.toLocaleString("en-US")} events/s joining the group, ${joined.toLocaleString("en-US")} events/s joined`);
      return {
        level: LEVEL,
        name: "kafka_replay_events_per_sec",
        value: joined,
        unit: "events/s",
        note: `recoverShard() of every shard from KafkaEventLog on librdkafka's mock broker in-process; ${built.events.toLocaleString("en-US")} events (a mock partition keeps only ~5 MiB); second replay, on a reader that has joined its consumer group (the first, with the 3 s join: ${joining.toLocaleString("en-US")} events/s)`,
      };
    } finally {
      await eventLog.close();
      await snapshots.close();
    }
  } finally {
    cluster.stop();
  }
}

interface NodeStart {
  ms: number;
  /** Where the start's time went, from the node's own log lines. */
  phases: string;
}

/**
 * Spawns `oms node` on copies of the given files (a log, snapshots) and returns the milliseconds from spawn
 * to grpc Health SERVING. The node is killed with SIGKILL afterwards: a clean stop would take a
 * snapshot, which is not what is measured. Each start gets its own copy and data directory, so
 * one start's epoch marker and live lease do not slow the next.
 */
async function timeNodeStart(dataDir: string, files: readonly { from: string; to: string }[]): Promise<NodeStart> {
  const nodeDir = join(dataDir, NODE_ID);
  mkdirSync(nodeDir, { recursive: true });
  for (const { from, to } of files) {
    copyFileSync(from, join(nodeDir, to));
    // Closing a database checkpoints its WAL into the file; copy what is left, if anything.
    if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, join(nodeDir, `${to}-wal`));
  }
  const port = await freePort();
  const configPath = join(dataDir, "oms.json");
  const shards = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
  writeFileSync(
    configPath,
    JSON.stringify({
      shardCount: SHARD_COUNT,
      dataDir,
      // Debug: the node's per-shard lines on claiming, recovering and reconciling time the phases of the start.
      logLevel: "debug",
      nodes: [{ id: NODE_ID, host: "127.0.0.1", port, shards }],
      // Never during the measurement: a snapshot would only add work after SERVING.
      snapshot: { everyRecords: 1_000_000_000 },
    }),
  );
  // The file alone configures the node: OMS_* variables of this shell are dropped.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_")));
  Bun.gc(true);
  const spawnedAtMs = Date.now();
  const startedMs = performance.now();
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", "node", "--config", configPath, "--node-id", NODE_ID], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env,
  });
  // Drained as it comes, so the node never blocks on a full pipe.
  const stderr = new Response(proc.stderr).text();
  let ms: number;
  try {
    await waitUntilServing(`http://127.0.0.1:${port}`, {
      timeoutMs: SERVING_TIMEOUT_MS,
      pollMs: SERVING_POLL_MS,
      exitedBecause: () => (proc.exitCode !== null || proc.signalCode !== null ? String(proc.exitCode ?? proc.signalCode) : null),
    });
    ms = performance.now() - startedMs;
  } catch (error) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`recovery bench: oms node did not serve: ${String(error)}\n${await stderr}`, { cause: error });
  }
  proc.kill("SIGKILL");
  await proc.exited;
  return { ms, phases: startPhases(await stderr, spawnedAtMs) };
}

/**
 * The phases of a start from the node's log lines: boot (spawn to the first shard claimed),
 * recovery (claims, replays, invariant checks; replay alone in brackets), the venue's
 * reconcile, and the rest until the server listens.
 */
function startPhases(output: string, spawnedAtMs: number): string {
  const lines = output.split("\n").flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === "object" && parsed !== null ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
  const atMs = (msg: string, which: "first" | "last") => {
    const matching = lines.filter((line) => line["msg"] === msg);
    const line = which === "first" ? matching[0] : matching[matching.length - 1];
    return typeof line?.["ts"] === "string" ? Date.parse(line["ts"]) : Number.NaN;
  };
  const replayMs = lines.filter((line) => line["msg"] === "shard recovered").reduce((sum, line) => sum + Number(line["replayMs"] ?? 0), 0);
  const claimedMs = atMs("shard claimed", "first");
  const recoveredMs = atMs("shard recovered", "last");
  const reconciledMs = atMs("venue reconciled", "first");
  const servingMs = atMs("node serving", "first");
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return (
    `boot ${seconds(claimedMs - spawnedAtMs)}, recovery ${seconds(recoveredMs - claimedMs)} (replay ${seconds(replayMs)}), ` +
    `venue reconcile ${seconds(reconciledMs - recoveredMs)}, until listening ${seconds(servingMs - reconciledMs)}`
  );
}



function describeKinds(kinds: Map<string, number>): string {
  return [...kinds].map(([kind, count]) => `${kind} ${count.toLocaleString("en-US")}`).join(", ");
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
