// Which records of a shard's log count, decided from the owner's stamps alone. Recovery and
// every consumer of the log (the read-model projector, say) go through this one function, so
// they agree on the ledger a log rebuilds: a record of an epoch older than the newest seen is
// a fenced owner's and is ignored, a sequence already applied is a retried send's duplicate,
// a sequence beyond the next is a hole in the log and stops the reader, and an epoch marker
// only moves the epoch.
import { isEpochMarker, type StoredRecord } from "./event-log.ts";

/** How far a reader has got in one shard's records, by the owner's stamps. */
export interface ReplayCursor {
  /** The sequence the next record to apply must carry. */
  nextSequence: bigint;
  /** The newest epoch seen; records stamped with an older one are a fenced owner's. */
  epoch: bigint;
}

/** What to do with a record: apply its events, or nothing (and why not). */
export type RecordAdmission = "apply" | "epoch_marker" | "fenced" | "duplicate";

/**
 * Decides whether a record's events are to be applied and moves the cursor past it; the
 * caller applies them on "apply". Throws, naming `where`, on a record of another shard or a
 * sequence gap: a reader that went on would rebuild a ledger the owner never had. `where` may
 * be a function of the record's offset, so that a replay of millions of records builds the
 * text only for the one it refuses.
 */
export function admitRecord(
  cursor: ReplayCursor,
  shard: number,
  stored: StoredRecord,
  where: string | ((offset: bigint) => string),
): RecordAdmission {
  const { header, record } = stored;
  if (header.shard !== shard) throw new Error(`${whereText(where, stored)}: record belongs to shard ${header.shard}`);
  if (header.epoch < cursor.epoch) return "fenced";
  cursor.epoch = header.epoch;
  // A new owner's marker holds no command and takes no sequence.
  if (isEpochMarker(record)) return "epoch_marker";
  if (header.sequence < cursor.nextSequence) return "duplicate";
  if (header.sequence > cursor.nextSequence) {
    throw new Error(
      `${whereText(where, stored)}: record has sequence ${header.sequence} but ${cursor.nextSequence} was expected; the log has a gap`,
    );
  }
  cursor.nextSequence += 1n;
  return "apply";
}

function whereText(where: string | ((offset: bigint) => string), stored: StoredRecord): string {
  return typeof where === "string" ? where : where(stored.offset);
}
