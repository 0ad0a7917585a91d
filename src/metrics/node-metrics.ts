// The figures an OMS node exposes at /metrics. The instrumented modules (node, recovery, the
// logs) call the methods below; per-command calls are plain increments and a bucket scan, and
// the rest is once per batch or computed when scraped. src/core never sees any of this.
import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";
import { BATCH_SIZE_BOUNDS, HotHistogram, LATENCY_SECONDS_BOUNDS, STAGE_SECONDS_BOUNDS, type HistogramCell } from "./hot-histogram.ts";
import { HotCounter } from "./hot-counter.ts";
import { registerHot } from "./hot-metric.ts";
import { processRegistry } from "./process-metrics.ts";

/** One shard as the node holds it, read at scrape time. */
export interface ShardFigures {
  shard: number;
  /** The node holds a live lease on it and takes writes. */
  owned: boolean;
  epoch: bigint;
  /** Null while the shard is still replaying. */
  accounts: number | null;
  openOrders: number | null;
}

export type LogKind = "sqlite" | "kafka";

/**
 * The stages of a command's way through the node, in order; their sum is its time at the node:
 * queued (its request's headers in → the command taken up: the body read and decoded),
 * decide (parse, decide, apply, encode the answer), batching (handed to the log → its batch
 * handed to the writer), durable (the writer's commit and fsync), handback (the writer done →
 * the node's thread hears of it), reply (heard → the answer written out; a batch's answer waits
 * for its last command).
 */
export const NODE_STAGES = ["queued", "decide", "batching", "durable", "handback", "reply"] as const;
export const NODE_STAGE_FAMILY = "oms_node_stage_seconds";
export type NodeStage = (typeof NODE_STAGES)[number];

/** Snapshots run from 1 ms (a small ledger) to minutes (millions of orders in slices). */
const SNAPSHOT_SECONDS_BOUNDS = [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** 1 KiB to 1 GiB, by fours. */
const SNAPSHOT_BYTES_BOUNDS = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824];

export class NodeMetrics {
  private readonly commands = new HotCounter("oms_node_commands_total", "Commands decided by the node, by command and outcome (accepted, unchanged, or the refusal's code).", ["command", "outcome"]);
  private readonly commitSeconds = new HotHistogram("oms_node_commit_duration_seconds", "From decide to the log's durable acknowledgement, per command that changed state.", LATENCY_SECONDS_BOUNDS);
  private readonly commitCell: HistogramCell = this.commitSeconds.cell();
  private readonly appendSeconds = new HotHistogram("oms_log_append_duration_seconds", "One batch's write to the log, from handing it over to durable (SQLite writer thread commit, Kafka produce acknowledgement).", LATENCY_SECONDS_BOUNDS, "log");
  private readonly appendRecords = new HotHistogram("oms_log_append_batch_records", "Records per log append (one group commit or produce request).", BATCH_SIZE_BOUNDS, "log");
  private readonly replayRecords = new Counter({ name: "oms_replay_records_total", help: "Log records replayed at start, per shard.", labelNames: ["shard"], registers: [] });
  private readonly replayRemaining = new Gauge({ name: "oms_replay_remaining_records", help: "Log records a replay in progress still has to read, per shard.", labelNames: ["shard"], registers: [] });
  private readonly replaying = new Gauge({ name: "oms_replay_in_progress", help: "1 while the shard is replaying its log, else 0.", labelNames: ["shard"], registers: [] });
  private readonly snapshots = new Counter({ name: "oms_snapshots_total", help: "Snapshots taken, by outcome (saved, failed).", labelNames: ["outcome"], registers: [] });
  private readonly snapshotSeconds = new Histogram({ name: "oms_snapshot_duration_seconds", help: "From the start of encoding to the snapshot saved.", buckets: SNAPSHOT_SECONDS_BOUNDS, registers: [] });
  private readonly snapshotBytes = new Histogram({ name: "oms_snapshot_size_bytes", help: "Size of each snapshot saved.", buckets: SNAPSHOT_BYTES_BOUNDS, registers: [] });
  private readonly stageSeconds = new HotHistogram(NODE_STAGE_FAMILY, "A command's time at the node by stage (queued, decide, batching, durable, handback, reply): the node's share of its latency budget.", STAGE_SECONDS_BOUNDS, "stage");
  /** A cell per stage, kept so that the hot path does no lookup. */
  readonly stages: Readonly<Record<NodeStage, HistogramCell>> = Object.fromEntries(NODE_STAGES.map((stage) => [stage, this.stageSeconds.cell(stage)])) as Record<NodeStage, HistogramCell>;
  private readonly shardSources = new Set<() => Promise<readonly ShardFigures[]>>();
  /** The figures of the scrape under way: its four shard gauges share one count of the ledgers. */
  private shardFiguresPending: Promise<readonly ShardFigures[]> | null = null;
  private registryOnce: Registry | null = null;

  commandDecided(command: string, outcome: string): void {
    this.commands.inc(command, outcome);
  }

  /** How many commands were counted so far with this outcome (for tests). */
  commandCount(command: string, outcome: string): number {
    return this.commands.countOf(command, outcome);
  }

  /** The clock commit latency is measured with: monotonic, in ms. */
  commitStarted(): number {
    return performance.now();
  }

  commitDurable(startedMs: number): void {
    this.commitCell.observe((performance.now() - startedMs) / 1000);
  }

  /** A log's cell pair, kept by the log so that each batch costs two bucket scans. */
  logAppends(log: LogKind): { appended(records: number, seconds: number): void } {
    const seconds = this.appendSeconds.cell(log);
    const records = this.appendRecords.cell(log);
    return {
      appended(count, took) {
        seconds.observe(took);
        records.observe(count);
      },
    };
  }

  replayStarted(shard: number, remaining: bigint): void {
    this.replaying.set({ shard }, 1);
    this.replayRemaining.set({ shard }, Number(remaining));
  }

  /** Once per log read (up to REPLAY_BATCH_RECORDS_MAX records), not per record. */
  replayed(shard: number, records: number, remaining: bigint): void {
    this.replayRecords.inc({ shard }, records);
    this.replayRemaining.set({ shard }, Number(remaining));
  }

  replayEnded(shard: number): void {
    this.replaying.set({ shard }, 0);
    this.replayRemaining.set({ shard }, 0);
  }

  snapshotSaved(seconds: number, bytes: number): void {
    this.snapshots.inc({ outcome: "saved" });
    this.snapshotSeconds.observe(seconds);
    this.snapshotBytes.observe(bytes);
  }

  snapshotFailed(): void {
    this.snapshots.inc({ outcome: "failed" });
  }

  /** Read at each scrape until the returned function is called (the node closed). */
  watchShards(source: () => Promise<readonly ShardFigures[]>): () => void {
    this.shardSources.add(source);
    return () => this.shardSources.delete(source);
  }

  /** The node process's registry: its own figures and the process's, made on first use. */
  registry(): Registry {
    if (this.registryOnce !== null) return this.registryOnce;
    const registry = processRegistry();
    for (const hot of [this.commands, this.commitSeconds, this.appendSeconds, this.appendRecords, this.stageSeconds]) registerHot(registry, hot);
    const metrics: Metric[] = [this.replayRecords, this.replayRemaining, this.replaying, this.snapshots, this.snapshotSeconds, this.snapshotBytes];
    for (const metric of metrics) registry.registerMetric(metric);
    for (const gauge of this.shardGauges()) registry.registerMetric(gauge);
    this.registryOnce = registry;
    return registry;
  }

  /** Ownership, epochs, accounts and open orders: computed from the ledgers when scraped. */
  private shardGauges(): Gauge[] {
    const figures = () => this.shardFigures();
    const gauge = (name: string, help: string, valueOf: (figures: ShardFigures) => number | bigint | null): Gauge =>
      new Gauge({
        name,
        help,
        labelNames: ["shard"],
        registers: [],
        async collect() {
          const all = await figures();
          this.reset();
          for (const shard of all) {
            const value = valueOf(shard);
            if (value !== null) this.set({ shard: shard.shard }, Number(value));
          }
        },
      });
    return [
      gauge("oms_shard_owned", "1 while this node holds a live lease on the shard and takes writes, else 0.", (f) => (f.owned ? 1 : 0)),
      gauge("oms_shard_epoch", "The epoch this node claimed the shard with.", (f) => f.epoch),
      gauge("oms_shard_accounts", "Accounts in the shard's ledger.", (f) => f.accounts),
      gauge("oms_shard_open_orders", "Open orders in the shard's ledger (counted at scrape time).", (f) => f.openOrders),
    ];
  }

  private shardFigures(): Promise<readonly ShardFigures[]> {
    this.shardFiguresPending ??= Promise.all([...this.shardSources].map((source) => source()))
      .then((all) => all.flat())
      .finally(() => (this.shardFiguresPending = null));
    return this.shardFiguresPending;
  }
}

/** The one NodeMetrics of this process. */
export const nodeMetrics = new NodeMetrics();
