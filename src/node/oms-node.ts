// An OMS node: the ledgers of the shards it owns, kept in memory, and who may write them. Every
// state change goes through the commit pipeline (commit-pipeline.ts): decide, apply, append to
// the log, and only once the log has it, tell the client, the venue and the trade-update
// streams. This class starts the node (claims, replay, venue reconciliation), answers which
// shard may take a command, takes snapshots and stops the node when its ledger cannot be trusted.
import { CLOSED_ORDER_RETENTION_DEFAULT, findOrder, type Account, type ClosedOrderRetention } from "../core/account.ts";
import { hotOrderSlots } from "../core/order-list.ts";
import type { OrderArchive } from "../archive/order-archive.ts";
import type { Command } from "../core/command.ts";
import type { Event } from "../core/event.ts";
import { checkInvariants } from "../core/invariants.ts";
import { isOpen, type Order } from "../core/order.ts";
import { reject, type Rejection } from "../core/rejection.ts";
import type { EventLog } from "../log/event-log.ts";
import { nodeMetrics, type ShardFigures } from "../metrics/node-metrics.ts";
import type { ShardClaims } from "../snapshot/shard-claims.ts";
import type { SnapshotStore } from "../snapshot/snapshot-store.ts";
import type { Venue, VenueOrder, VenueReport } from "../venue/venue.ts";
import type { NodeCommandCase, Outcome, WriteAnswer } from "./command-parse.ts";
import { CommitPipeline, type ReplyClock } from "./commit-pipeline.ts";
import { checkLogCoversSnapshot, recoverShard } from "./recovery.ts";
import type { ShardLedger } from "./shard-ledgers.ts";
import { SnapshotInProgress } from "./snapshot-in-progress.ts";
import { ShardOwnership } from "./shard-ownership.ts";
import { TradeUpdateHub } from "./trade-update-hub.ts";
import { VenueReportQueue } from "./venue-report-queue.ts";
import { venueOrderOf } from "./venue-order.ts";
import { orderEventLine } from "./order-event-line.ts";
import { shardFigures } from "./shard-figures.ts";
import { runtimeScheduler, type Scheduler } from "./scheduler.ts";
import { timedJob } from "../metrics/main-thread-work.ts";

export interface NodeLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** At "debug", the node logs every order event (one line each); a logger without a level is taken as above it. */
  readonly level?: string;
}

export interface OmsNodeOptions {
  nodeId: string;
  shardCount: number;
  shards: readonly number[];
  shardOf: (accountId: string) => number;
  log: EventLog;
  snapshots: SnapshotStore;
  /** Who may write each shard: one owner at a time, fenced by epochs. */
  claims: ShardClaims;
  venue: Venue;
  /** How long a shard claim lasts unless renewed. */
  leaseMs: number;
  /** A command whose log write takes longer is answered UNAVAILABLE; the write goes on. */
  ackTimeoutMs: number;
  logger: NodeLogger;
  /** Take a shard's snapshot after this many records (bounds replay time). */
  snapshotEveryRecords: number;
  /** Closed orders evicted from the hot ledger go here, so reads of old orders still answer. */
  archive: OrderArchive;
  /** How long closed orders stay in the hot ledger (and client order ids stay idempotent). */
  closedOrders?: ClosedOrderRetention;
  clock?: () => number;
  /** Timers and the monotonic clock (of deadlines: a command's, the log's ack timeout); the simulation passes its own. Default: the runtime's. */
  scheduler?: Scheduler;
  /** A log write failed: memory is ahead of the log, so the node must stop. Default: exit. */
  onFatal?: (error: unknown) => void;
}

/** Snapshot bytes each record of a shard pays for: the pace of snapshots of a large shard (recorded). */
export const SNAPSHOT_BYTES_PER_RECORD = 50;

export class OmsNode {
  readonly updates = new TradeUpdateHub();
  readonly clock: () => number;
  /** The symbols the venue trades; an order for any other is refused. */
  readonly symbols: ReadonlySet<string>;
  readonly archive: OrderArchive;
  private readonly closedOrders: ClosedOrderRetention;
  private readonly shards = new Map<number, ShardLedger>();
  private readonly ownership: ShardOwnership;
  private readonly reports: VenueReportQueue;
  private readonly snapshotRuns = new Map<number, Promise<void>>();
  private readonly pipeline: CommitPipeline;
  private readonly scheduler: Scheduler;
  private fatal: unknown = null;
  private unwatchMetrics: () => void = () => {};

  private constructor(private readonly options: OmsNodeOptions) {
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? runtimeScheduler;
    this.symbols = new Set(options.venue.symbols());
    this.archive = options.archive;
    this.closedOrders = options.closedOrders ?? CLOSED_ORDER_RETENTION_DEFAULT;
    checkRetention(this.closedOrders);
    this.pipeline = new CommitPipeline({
      log: options.log,
      venue: options.venue,
      updates: this.updates,
      parseContext: this,
      ackTimeoutMs: options.ackTimeoutMs,
      scheduler: this.scheduler,
      writableShard: (accountId) => this.writableShard(accountId),
      readableShard: (accountId) => this.readableShard(accountId),
      ownershipProblem: (shard) => this.ownership.problem(shard),
      ownership: (shard) => this.ownership.state(shard),
      recorded: (shard) => this.recorded(shard),
      closedOrders: this.closedOrders,
      archive: this.archive,
      die: (error) => this.die(error),
      orderEvents: options.logger.level === "debug" ? (accountId, events) => logOrderEvents(options.logger, accountId, events) : null,
    });
    this.ownership = new ShardOwnership(options.claims, options.nodeId, options.leaseMs, this.clock, options.logger, this.scheduler);
    this.reports = new VenueReportQueue(
      (report) => this.writeRefusal(report.accountId),
      (report) => this.commitReport(report),
      this.scheduler,
    );
  }

  /**
   * For each shard: claim it (a new epoch), write the epoch marker, then replay the log up to
   * its end, which includes the marker: every record an older owner wrote before it counts,
   * none after it does. Only then does the node serve.
   */
  static async start(options: OmsNodeOptions): Promise<OmsNode> {
    const node = new OmsNode(options);
    node.unwatchMetrics = nodeMetrics.watchShards(() => node.shardFigures());
    // Renewing starts at once: replaying a long log must not let the first claims lapse.
    node.ownership.startRenewing();
    const recovery = { startedMs: performance.now(), recordsReplayed: 0, eventsReplayed: 0, recordsSkipped: 0 };
    for (const shard of options.shards) {
      // Refuse before claiming or writing anything: a log that lost what a snapshot includes
      // must not get an epoch marker that would make it look in use.
      await checkLogCoversSnapshot(shard, options.log, options.snapshots);
      const lease = await node.ownership.claim(shard);
      await options.log.append({ shard, epoch: lease.epoch, sequence: 0n }, { accountId: "", events: [] });
      const { ledger, stats } = await recoverShard(
        shard,
        options.log,
        options.snapshots,
        (progress) => options.logger.debug("replaying", { ...progress }),
        undefined,
        { retention: node.closedOrders, archive: (orders) => node.archive.add(orders) },
      );
      if (ledger.epoch !== lease.epoch) {
        throw new Error(`shard ${shard}: replay ended at epoch ${ledger.epoch}, not at this node's claim ${lease.epoch}; another owner wrote after it`);
      }
      for (const account of ledger.ledger.values()) checkInvariants(account);
      node.shards.set(shard, ledger);
      options.logger.debug("shard recovered", { ...stats, epoch: lease.epoch });
      recovery.recordsReplayed += stats.recordsReplayed;
      recovery.eventsReplayed += stats.eventsReplayed;
      recovery.recordsSkipped += stats.recordsSkipped;
    }
    // One line at info for the whole start: the per-shard lines above would hide the ready line.
    const { startedMs, ...replayed } = recovery;
    options.logger.info("shards recovered", { shards: options.shards.length, ...replayed, recoveryMs: Math.round(performance.now() - startedMs) });
    node.reconcileVenue();
    options.venue.onReport((report) => node.reports.push(report));
    return node;
  }

  get venue(): Venue {
    return this.options.venue;
  }

  ownsAccount(accountId: string): boolean {
    return this.shards.has(this.options.shardOf(accountId));
  }

  /**
   * Stages 2 to 7 of the commit pipeline for a core command (commit-pipeline.ts): decided and
   * applied at once, so the account's next command sees it; encodeAnswer runs right after
   * apply, so the answer shows the state this command produced; resolved once the log has it.
   */
  commit<T>(command: Command, encodeAnswer: WriteAnswer<T>): Promise<Outcome<T>> {
    return this.pipeline.commit(command, encodeAnswer);
  }

  /**
   * One command of an Execute batch through the whole pipeline, answered as an encoded
   * NodeResult; refused DEADLINE_EXCEEDED, undecided, if its turn comes at or after deadlineMs
   * (on nowMs's clock; null: none).
   */
  execute(command: NodeCommandCase, newId: () => string, deadlineMs: number | null = null, replyClock: ReplyClock | null = null): Promise<Uint8Array> {
    return this.pipeline.execute(command, newId, deadlineMs, replyClock);
  }

  /** The clock of execute's deadlines. */
  nowMs(): number {
    return this.pipeline.nowMs();
  }

  /** Why commands for this account cannot be written now, or null. */
  private writeRefusal(accountId: string): Rejection | null {
    if (this.fatal !== null) return reject("unavailable", "node stopped after a log failure");
    const shardId = this.options.shardOf(accountId);
    if (!this.shards.has(shardId)) return null; // shardOf() below says whose it is
    return this.shardRefusal(shardId);
  }

  /** Why an owned shard cannot take writes now, or null. */
  private shardRefusal(shardId: number): Rejection | null {
    if (this.fatal !== null) return reject("unavailable", "node stopped after a log failure");
    const ownership = this.ownership.problem(shardId);
    if (ownership !== null) return ownership;
    if (!this.options.log.isWritable()) return reject("unavailable", "the write-ahead log is not taking writes (its brokers may be down); retry shortly");
    return null;
  }

  /** The account's shard if it may take a write now, else why not. */
  private writableShard(accountId: string): ShardLedger | Rejection {
    // The account's shard is hashed once per command, for the refusal check and the ledger.
    const shard = this.shardOf(accountId);
    if ("code" in shard) return shard;
    return this.shardRefusal(shard.shard) ?? shard;
  }

  /** The account's shard if this node may answer reads of it, else why not. */
  private readableShard(accountId: string): ShardLedger | Rejection {
    const shard = this.shardOf(accountId);
    if ("code" in shard) return shard;
    return this.ownership.problem(shard.shard) ?? shard;
  }

  /** The order as decided so far, durable or not: only for choosing a market price. */
  peekOrder(accountId: string, orderId: string): Order | undefined {
    const shard = this.shards.get(this.options.shardOf(accountId));
    const account = shard?.ledger.get(accountId);
    return account === undefined ? undefined : findOrder(account, orderId);
  }

  /** A read waits for the account's earlier writes to be durable, so it never shows state the log could lose. */
  read<T>(accountId: string, encodeAnswer: (account: Account) => T): Promise<Outcome<T>> {
    return this.pipeline.read(accountId, encodeAnswer);
  }

  /** Stops taking work and waits for what was written; the leases go with release(). */
  async close(): Promise<void> {
    this.unwatchMetrics();
    this.options.venue.close();
    this.reports.close();
    this.updates.closeAll();
    await Promise.all([...this.shards.values()].map((shard) => shard.durableEnd));
    this.pipeline.close();
    await this.archive.flushToDisk();
  }

  /** Gives the shards up so that the next owner need not wait for the leases to run out. */
  async release(): Promise<void> {
    await this.ownership.releaseAll();
  }

  /** The account's shard, if this node owns it and has not stopped. */
  private shardOf(accountId: string): ShardLedger | Rejection {
    if (this.fatal !== null) return reject("unavailable", "node stopped after a log failure");
    const shardId = this.options.shardOf(accountId);
    const shard = this.shards.get(shardId);
    if (shard === undefined) {
      return reject("failed_precondition", `account_id: shard ${shardId} is not owned by node ${this.options.nodeId}`);
    }
    return shard;
  }

  private commitReport(report: VenueReport): void {
    this.pipeline.report(report).then((outcome) => {
      if (outcome.ok) return;
      if (outcome.rejection.code === "unavailable") {
        // Applied and on its way to the log (or refused before apply and held): either way
        // retrying is safe, as the core ignores a report it has already applied.
        this.reports.push(report);
        return;
      }
      this.options.logger.error("venue report refused", { ...reportFields(report), reason: outcome.rejection.message });
    }, (error: unknown) => this.die(error));
  }

  /** After a restart the venue hears about the orders the log says are open; nothing is submitted again. */
  private reconcileVenue(): void {
    const open: VenueOrder[] = [];
    const cancels: string[] = [];
    const replaces: { old: Order; replacement: Order }[] = [];
    for (const shard of this.shards.values()) {
      for (const account of shard.ledger.values()) {
        for (const order of hotOrderSlots(account)) {
          if (order === null || !isOpen(order.status) || order.status === "pending_new") continue;
          open.push(venueOrderOf(order));
          if (order.status === "pending_cancel") cancels.push(order.id);
          const replacement = order.pendingReplace === null ? undefined : findOrder(account, order.pendingReplace.newOrderId);
          if (replacement !== undefined) replaces.push({ old: order, replacement });
        }
      }
    }
    this.options.venue.reconcile(open);
    // A cancel or replace the log asked for may not have reached the venue before the crash;
    // asking again is safe: both are idempotent at the venue and name orders it already has.
    for (const orderId of cancels) this.options.venue.cancel(orderId);
    for (const { old, replacement } of replaces) {
      this.options.venue.replace(old.id, venueOrderOf(replacement), old.pendingReplace?.filledQty ?? 0n);
    }
    this.options.logger.debug("venue reconciled", { openOrders: open.length, cancels: cancels.length, replaces: replaces.length });
  }

  /**
   * A record of the shard is durable: after enough of them, a snapshot bounds replay. Enough is
   * snapshotEveryRecords, or more for a large shard: encoding a snapshot costs ~2 µs of the
   * main thread per order it holds, so one every 10,000 records over 25,000 resting orders took
   * ~5 µs a record, a tenth of a loaded node's CPU. Paced by the last snapshot's size, a record
   * pays for at most SNAPSHOT_BYTES_PER_RECORD of the next (~0.5 µs), however large the state;
   * replay then reads at most that many more records, which is as long as decoding the state.
   */
  private recorded(shard: ShardLedger): void {
    shard.recordsSinceSnapshot += 1;
    const due = Math.max(this.options.snapshotEveryRecords, Math.ceil(shard.lastSnapshotBytes / SNAPSHOT_BYTES_PER_RECORD));
    if (shard.recordsSinceSnapshot < due || shard.snapshot !== null) return;
    void this.snapshot(shard);
  }

  /**
   * Snapshots hold only what the log has: the state as of now, encoded a slice at a time
   * between commands, saved once every record before now is durable.
   */
  async snapshot(shard: ShardLedger): Promise<void> {
    const running = this.snapshotRuns.get(shard.shard);
    if (running !== undefined) await running;
    const run = this.takeSnapshot(shard);
    this.snapshotRuns.set(shard.shard, run);
    await run.finally(() => this.snapshotRuns.delete(shard.shard));
  }

  private async takeSnapshot(shard: ShardLedger): Promise<void> {
    // Counted from here, whoever asked for this snapshot: the records after it pay for the next.
    shard.recordsSinceSnapshot = 0;
    // A fenced or lapsed owner's state may hold records that replay will ignore.
    if (this.ownership.problem(shard.shard) !== null) return;
    const startedMs = performance.now();
    const inProgress = new SnapshotInProgress(shard.ledger, this.scheduler.now);
    const nextSequence = shard.nextSequence;
    const epoch = shard.epoch;
    const durableEnd = shard.durableEnd;
    shard.snapshot = inProgress;
    let state: Uint8Array;
    try {
      while (!timedJob("snapshot_slice", () => inProgress.step())) await this.scheduler.yieldSlice();
      state = inProgress.finish();
    } finally {
      shard.snapshot = null;
    }
    shard.lastSnapshotBytes = state.byteLength;
    const nextOffset = await durableEnd;
    try {
      // The orders this snapshot no longer holds were handed to the archive when their records
      // became durable (before durableEnd resolved); they must be on disk before the snapshot
      // is, or a crash would leave them in neither.
      await this.archive.flushToDisk();
      const bytes = state.byteLength;
      // The state is this run's own: the store may move it to its writer thread uncopied.
      await this.options.snapshots.save({ shard: shard.shard, nextOffset, nextSequence, epoch, state }, { giveState: true });
      nodeMetrics.snapshotSaved((performance.now() - startedMs) / 1000, bytes);
      this.options.logger.debug("snapshot saved", { shard: shard.shard, nextOffset, bytes });
    } catch (error) {
      nodeMetrics.snapshotFailed();
      // A failed snapshot loses nothing (the log has everything); it only lengthens replay.
      this.options.logger.warn("snapshot failed", { shard: shard.shard, error: String(error) });
    }
  }

  /** Each shard claimed, for /metrics: ownership and epoch, and once replayed, accounts and open orders. */
  private shardFigures(): Promise<ShardFigures[]> {
    return shardFigures(this.ownership.leases().map((lease) => ({ ...lease, ledger: this.shards.get(lease.shard)?.ledger })));
  }

  async snapshotAll(): Promise<void> {
    for (const shard of this.shards.values()) await this.snapshot(shard);
  }

  private die(error: unknown): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.options.logger.error("stopping: the ledger can no longer be trusted", { error: String(error) });
    // The exit waits a moment so that the callers of the failed batch get their UNAVAILABLE,
    // naming the log's reason, instead of a dropped connection; new work is refused meanwhile.
    (this.options.onFatal ?? (() => setTimeout(() => process.exit(70), FATAL_EXIT_AFTER_MS)))(error);
  }
}

/** Long enough for the answers already decided to leave; short enough that nothing else happens. */
const FATAL_EXIT_AFTER_MS = 200;

/** One debug line per event, after the log has it: what an operator follows an order by. */
function logOrderEvents(logger: NodeLogger, accountId: string, events: readonly Event[]): void {
  for (const event of events) {
    const { msg, fields } = orderEventLine(accountId, event);
    logger.debug(msg, fields);
  }
}

function checkRetention(retention: ClosedOrderRetention): void {
  const { keptMax, keptMs } = retention;
  if (!(Number.isSafeInteger(keptMax) && keptMax >= 0)) throw new Error(`node: closedOrders.keptMax must be a non-negative integer, got ${keptMax}`);
  if (!(Number.isSafeInteger(keptMs) && keptMs >= 0)) throw new Error(`node: closedOrders.keptMs must be a non-negative integer, got ${keptMs}`);
}

function reportFields(report: VenueReport): Record<string, unknown> {
  return { accountId: report.accountId, orderId: report.orderId, execution: report.execution.kind };
}
