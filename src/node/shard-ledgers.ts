// The shards a node owns, each with its ledger and the tail of its log. Commands of one
// account always go to one shard, and JavaScript runs one decide/apply at a time, so the
// order in which commands are decided is the order in which they are logged.
import type { Ledger } from "../core/state-machine.ts";
import type { SnapshotInProgress } from "./snapshot-in-progress.ts";

export interface ShardLedger {
  shard: number;
  ledger: Ledger;
  /** The epoch this node writes with. */
  epoch: bigint;
  /** The sequence the next record appended to this shard will carry. */
  nextSequence: bigint;
  /** Resolves, once every record appended so far is durable, with the log offset after them. */
  durableEnd: Promise<bigint>;
  recordsSinceSnapshot: number;
  /** The size of the shard's last snapshot, taken or loaded (0 before any): it paces the next (oms-node.ts). */
  lastSnapshotBytes: number;
  /** Set while a snapshot is being encoded: changes to an account go through it first. */
  snapshot: SnapshotInProgress | null;
}

export function newShardLedger(shard: number, ledger: Ledger, epoch: bigint, nextSequence: bigint, endOffset: bigint, lastSnapshotBytes = 0): ShardLedger {
  return { shard, ledger, epoch, nextSequence, durableEnd: Promise.resolve(endOffset), recordsSinceSnapshot: 0, lastSnapshotBytes, snapshot: null };
}
