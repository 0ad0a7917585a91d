// Bringing a shard back: its latest snapshot, then every log record after it, applied in
// order. Replay only applies events: it never calls the venue.
import type { Event } from "../core/event.ts";
import { decodeLedger } from "../core/ledger-codec.ts";
import { CLOSED_ORDER_RETENTION_DEFAULT, type ClosedOrderRetention } from "../core/account.ts";
import type { Order } from "../core/order.ts";
import { apply, evict, type Ledger } from "../core/state-machine.ts";
import type { EventLog, StoredRecord } from "../log/event-log.ts";
import { admitRecord, type ReplayCursor } from "../log/replay-cursor.ts";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import type { SnapshotStore } from "../snapshot/snapshot-store.ts";
import { newShardLedger, type ShardLedger } from "./shard-ledgers.ts";

/** Records read per log request during replay: bounds the memory replay needs. */
export const REPLAY_BATCH_RECORDS_MAX = 10_000;

/** How often a long replay reports where it is. */
export const REPLAY_PROGRESS_EVERY_MS = 1_000;

export interface ReplayProgress {
  shard: number;
  offset: bigint;
  endOffset: bigint;
  /** Records between offset and the end of the log, still to read. */
  remainingRecords: bigint;
  eventsReplayed: number;
  eventsPerSecond: number;
}

export interface RecoveryStats {
  shard: number;
  snapshotOffset: bigint;
  endOffset: bigint;
  recordsReplayed: number;
  eventsReplayed: number;
  eventsPerSecond: number;
  replayMs: number;
  /** Records skipped: written twice by a retried send, or by an owner a newer epoch fenced. */
  recordsSkipped: number;
}

/** What replay evicts, as the live node did, and where the evicted orders go. */
export interface ReplayEviction {
  retention: ClosedOrderRetention;
  archive(orders: readonly Order[]): void;
}

/** For tools that need only the hot ledger: evicted orders are dropped. */
const HOT_LEDGER_ONLY: ReplayEviction = { retention: CLOSED_ORDER_RETENTION_DEFAULT, archive: () => {} };

interface RecoveryCursor extends ReplayCursor {
  events: number;
  applied: number;
  skipped: number;
}

/** Throws when the log ends before the offset the shard's snapshot says it includes. */
export async function checkLogCoversSnapshot(shard: number, log: EventLog, snapshots: SnapshotStore): Promise<void> {
  const snapshot = await snapshots.load(shard);
  if (snapshot === null) return;
  const end = await log.endOffset(shard);
  if (end < snapshot.nextOffset) {
    throw new Error(`shard ${shard}: the snapshot includes the log up to offset ${snapshot.nextOffset} but the log ends at ${end}; refusing to start`);
  }
}

export async function recoverShard(
  shard: number,
  log: EventLog,
  snapshots: SnapshotStore,
  onProgress: (progress: ReplayProgress) => void = () => {},
  progressEveryMs = REPLAY_PROGRESS_EVERY_MS,
  eviction: ReplayEviction = HOT_LEDGER_ONLY,
): Promise<{ ledger: ShardLedger; stats: RecoveryStats }> {
  const snapshot = await snapshots.load(shard);
  const ledger: Ledger = snapshot === null ? new Map() : decodeLedger(snapshot.state);
  const from = snapshot?.nextOffset ?? 0n;
  const end = await log.endOffset(shard);
  if (end < from) {
    throw new Error(`shard ${shard}: the snapshot includes the log up to offset ${from} but the log ends at ${end}; refusing to start`);
  }
  const cursor: RecoveryCursor = { nextSequence: snapshot?.nextSequence ?? 0n, epoch: snapshot?.epoch ?? 0n, events: 0, applied: 0, skipped: 0 };
  let offset = from;
  // A replay that throws leaves its gauge at 1: the node does not start, and says why.
  nodeMetrics.replayStarted(shard, end - from);
  const startedMs = performance.now();
  let reportedMs = startedMs;
  const rate = () => Math.round(cursor.events / Math.max((performance.now() - startedMs) / 1000, 1e-3));
  // Built only for a record that replay refuses, not for each of the millions it takes.
  const where = (at: bigint) => `shard ${shard} offset ${at}`;
  while (offset < end) {
    const batch = await log.read(shard, offset, REPLAY_BATCH_RECORDS_MAX);
    if (batch.length === 0) throw new Error(`shard ${shard}: the log has no record at offset ${offset}, below its end ${end}`);
    // Offsets must increase within a batch; the next read's offset is computed once after it.
    let last = offset - 1n;
    for (let index = 0; index < batch.length; index += 1) {
      const stored = batch[index] as StoredRecord;
      if (stored.offset <= last) throw new Error(`shard ${shard}: read offset ${stored.offset} going backwards from ${last + 1n}`);
      replayRecord(ledger, stored, cursor, shard, where, eviction);
      last = stored.offset;
    }
    offset = last + 1n;
    nodeMetrics.replayed(shard, batch.length, end - offset);
    if (performance.now() - reportedMs >= progressEveryMs) {
      reportedMs = performance.now();
      onProgress({ shard, offset, endOffset: end, remainingRecords: end - offset, eventsReplayed: cursor.events, eventsPerSecond: rate() });
    }
  }
  nodeMetrics.replayEnded(shard);
  return {
    ledger: newShardLedger(shard, ledger, cursor.epoch, cursor.nextSequence, end, snapshot?.state.byteLength ?? 0),
    stats: {
      shard,
      snapshotOffset: from,
      endOffset: end,
      recordsReplayed: cursor.applied,
      eventsReplayed: cursor.events,
      eventsPerSecond: rate(),
      replayMs: Math.round(performance.now() - startedMs),
      recordsSkipped: cursor.skipped,
    },
  };
}

function replayRecord(
  ledger: Ledger,
  stored: StoredRecord,
  cursor: RecoveryCursor,
  shard: number,
  where: (offset: bigint) => string,
  eviction: ReplayEviction,
): void {
  const admission = admitRecord(cursor, shard, stored, where);
  if (admission === "fenced" || admission === "duplicate") cursor.skipped += 1;
  if (admission !== "apply") return;
  const { accountId, events } = stored.record;
  for (let index = 0; index < events.length; index += 1) apply(ledger, accountId, events[index] as Event);
  // As the commit pipeline evicts after each record: the same orders leave at the same record.
  // Archiving them again is harmless (the same rows), and restores what a crash kept from the archive.
  const evicted = evict(ledger, accountId, events, eviction.retention);
  if (evicted.length > 0) eviction.archive(evicted);
  cursor.events += events.length;
  cursor.applied += 1;
}
