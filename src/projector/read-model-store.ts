// The projector's side of Postgres: where each partition starts, and the one transaction per
// write that moves the rows and the partition's offset together. That transaction is what
// makes the projection exactly once: a crash before its commit leaves neither rows nor offset,
// a crash after it leaves both, and a restart resumes from the offset it finds.
import { decodeLedger } from "../core/ledger-codec.ts";
import type { PostgresSql } from "../snapshot/postgres-connect.ts";
import type { PartitionStart, ReadModelWrite } from "./partition-projection.ts";

/** Rows per insert statement: 18 columns × 1,000 stays far below Postgres's 65,535 parameters. */
const ROWS_PER_STATEMENT_MAX = 1_000;

/** A partition's offset row (created at 0 if absent) and its latest snapshot, if any. */
export async function loadPartitionStart(sql: PostgresSql, topic: string, partition: number): Promise<PartitionStart> {
  await sql`insert into projector_offsets (topic, partition, next_offset) values (${topic}, ${partition}, ${0n})
            on conflict (topic, partition) do nothing`;
  const [offsets] = await sql<{ next_offset: bigint }[]>`
    select next_offset from projector_offsets where topic = ${topic} and partition = ${partition}`;
  if (offsets === undefined) throw new Error(`projector: no offset row for topic ${topic} partition ${partition} right after creating it`);
  const [snapshot] = await sql<{ next_offset: bigint; next_sequence: bigint; epoch: bigint; state: Uint8Array }[]>`
    select next_offset, next_sequence, epoch, state from projector_snapshots where topic = ${topic} and partition = ${partition}`;
  if (snapshot === undefined) {
    return { ledger: new Map(), snapshotOffset: 0n, nextSequence: 0n, epoch: 0n, rowsOffset: offsets.next_offset };
  }
  return {
    ledger: decodeLedger(snapshot.state),
    snapshotOffset: snapshot.next_offset,
    nextSequence: snapshot.next_sequence,
    epoch: snapshot.epoch,
    rowsOffset: offsets.next_offset,
  };
}

/**
 * Writes the rows, the fills and the offset (and the snapshot, if any) in one transaction.
 * The offset moves only from write.fromOffset: if another projector moved it first, nothing
 * is written and this throws, so two projectors on one database never both apply a record.
 */
export async function writeReadModel(sql: PostgresSql, write: ReadModelWrite): Promise<void> {
  const { topic, partition } = write;
  await sql.begin(async (tx) => {
    const moved = await tx`update projector_offsets set next_offset = ${write.toOffset}
                           where topic = ${topic} and partition = ${partition} and next_offset = ${write.fromOffset}`;
    if (moved.count !== 1) {
      throw new Error(
        `projector: topic ${topic} partition ${partition} is no longer at offset ${write.fromOffset}; ` +
          "another projector writes to this database",
      );
    }
    for (const rows of chunks(write.accounts)) {
      await tx`insert into accounts ${tx(rows)} on conflict (account_id) do update set
                 cash = excluded.cash, reserved = excluded.reserved, trading_state = excluded.trading_state,
                 created_at = excluded.created_at`;
    }
    for (const rows of chunks(write.orders)) {
      await tx`insert into orders ${tx(rows)} on conflict (order_id) do update set
                 account_id = excluded.account_id, client_order_id = excluded.client_order_id, symbol = excluded.symbol,
                 side = excluded.side, type = excluded.type, time_in_force = excluded.time_in_force, qty = excluded.qty,
                 limit_price = excluded.limit_price, stop_price = excluded.stop_price, status = excluded.status,
                 filled_qty = excluded.filled_qty, filled_avg_price = excluded.filled_avg_price, replaces = excluded.replaces,
                 replaced_by = excluded.replaced_by, reject_reason = excluded.reject_reason,
                 created_at = excluded.created_at, updated_at = excluded.updated_at`;
    }
    for (const rows of chunks(write.positions)) {
      await tx`insert into positions ${tx(rows)} on conflict (account_id, symbol) do update set
                 qty = excluded.qty, cost_basis = excluded.cost_basis`;
    }
    for (const gone of write.positionsGone) {
      await tx`delete from positions where account_id = ${gone.account_id} and symbol = ${gone.symbol}`;
    }
    // No "on conflict": a fill inserted twice is a broken exactly-once and must fail loudly.
    for (const rows of chunks(write.fills)) await tx`insert into fills ${tx(rows)}`;
    const snapshot = write.snapshot;
    if (snapshot !== null) {
      await tx`insert into projector_snapshots (topic, partition, next_offset, next_sequence, epoch, state, taken_at)
               values (${topic}, ${partition}, ${snapshot.nextOffset}, ${snapshot.nextSequence}, ${snapshot.epoch}, ${snapshot.state}, now())
               on conflict (topic, partition) do update set next_offset = excluded.next_offset,
                 next_sequence = excluded.next_sequence, epoch = excluded.epoch, state = excluded.state, taken_at = excluded.taken_at`;
    }
  });
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT_MAX) yield rows.slice(start, start + ROWS_PER_STATEMENT_MAX);
}
