// The shards a node owns, each with its ledger and the tail of its log. Commands of one
// account always go to one shard, and JavaScript runs one decide/apply at a time, so the
// order in which commands are decided is the order in which they are logged.
import type { Ledger } from "../core/state-machine.ts";

export interface ShardLedger {
  shard: number;
  ledger: Ledger;
  /** The offset the next record appended to this shard will get. */
  nextOffset: bigint;
  /** Resolves once every record appended so far is durable. */
  durable: Promise<void>;
  recordsSinceSnapshot: number;
  snapshotting: boolean;
}

export function newShardLedger(shard: number, ledger: Ledger, nextOffset: bigint): ShardLedger {
  return { shard, ledger, nextOffset, durable: Promise.resolve(), recordsSinceSnapshot: 0, snapshotting: false };
}
