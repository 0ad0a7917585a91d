// Bringing a shard back: its latest snapshot, then every log record after it, applied in
// order. Replay only applies events: it never calls the venue.
import { decodeLedger } from "../core/ledger-codec.ts";
import { apply, type Ledger } from "../core/state-machine.ts";
import type { EventLog } from "../log/event-log.ts";
import type { SnapshotStore } from "../snapshot/snapshot-store.ts";
import { newShardLedger, type ShardLedger } from "./shard-ledgers.ts";

/** Records read per log request during replay: bounds the memory replay needs. */
export const REPLAY_BATCH_RECORDS_MAX = 10_000;

export interface RecoveryStats {
  shard: number;
  snapshotOffset: bigint;
  recordsReplayed: number;
  eventsReplayed: number;
}

export async function recoverShard(shard: number, log: EventLog, snapshots: SnapshotStore): Promise<{ ledger: ShardLedger; stats: RecoveryStats }> {
  const snapshot = await snapshots.load(shard);
  const ledger: Ledger = snapshot === null ? new Map() : decodeLedger(snapshot.state);
  const from = snapshot?.nextOffset ?? 0n;
  const end = await log.endOffset(shard);
  if (end < from) {
    throw new Error(`shard ${shard}: snapshot includes the log up to offset ${from} but the log ends at ${end}; refusing to start`);
  }
  let offset = from;
  let events = 0;
  while (offset < end) {
    const batch = await log.read(shard, offset, REPLAY_BATCH_RECORDS_MAX);
    if (batch.length === 0) throw new Error(`shard ${shard}: log has no record at offset ${offset} below its end ${end}`);
    for (const stored of batch) {
      if (stored.offset !== offset) throw new Error(`shard ${shard}: expected offset ${offset}, read ${stored.offset}`);
      for (const event of stored.record.events) apply(ledger, stored.record.accountId, event);
      events += stored.record.events.length;
      offset += 1n;
    }
  }
  return {
    ledger: newShardLedger(shard, ledger, end),
    stats: { shard, snapshotOffset: from, recordsReplayed: Number(end - from), eventsReplayed: events },
  };
}
