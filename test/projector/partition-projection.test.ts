// PartitionProjection without Kafka or Postgres: records below the rows' offset rebuild the
// ledger but produce no rows (they are in the database already), a record seen again after a
// seek is passed over, and a refused record changes nothing, so what came before it can still
// be written.
import { expect, test } from "bun:test";
import type { Command } from "../../src/core/command.ts";
import { encodeLedger } from "../../src/core/ledger-codec.ts";
import { apply, decide, type Ledger } from "../../src/core/state-machine.ts";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { encodeRecord } from "../../src/log/record-codec.ts";
import { PartitionProjection, RecordRefused } from "../../src/projector/partition-projection.ts";
import { commands, TestClock } from "./shard-owners.ts";

/** Eve's records on shard 0, decided by the core, each stamped with the next sequence. */
function eveRecords(): { values: Uint8Array[]; ledgers: Ledger[] } {
  const clock = new TestClock();
  const ledger: Ledger = new Map();
  const steps: Command[] = [
    commands.create("eve", clock.next()),
    commands.deposit("eve", "1000", clock.next()),
    commands.limit("eve", "e-1", "buy", "F", 10n, "12.00", clock.next()),
    commands.fill("eve", "e-1", 1, 4n, "11.90", clock.next()),
    commands.fill("eve", "e-1", 2, 6n, "11.95", clock.next()),
  ];
  const values: Uint8Array[] = [];
  const ledgers: Ledger[] = [];
  steps.forEach((command, sequence) => {
    const decision = decide(ledger, command);
    if (!decision.ok) throw new Error(`eve's step ${sequence} was rejected`);
    for (const event of decision.events) apply(ledger, command.accountId, event);
    const header: RecordHeader = { shard: 0, epoch: 1n, sequence: BigInt(sequence) };
    const record: LogRecord = { accountId: "eve", events: decision.events };
    values.push(encodeRecord(header, record));
    ledgers.push(structuredClone(ledger));
  });
  return { values, ledgers };
}

/** No snapshot: an empty ledger of its own at offset 0. */
const fresh = () => ({ ledger: new Map(), snapshotOffset: 0n, nextSequence: 0n, epoch: 0n });

test("records below the rows' offset rebuild the ledger and write nothing; the rest write their rows and fills", () => {
  const { values } = eveRecords();
  const projection = new PartitionProjection("wal", 0, { ...fresh(), rowsOffset: 4n }, 1_000);
  values.slice(0, 4).forEach((value, offset) => projection.take(BigInt(offset), value));
  expect(projection.pendingWrite()).toBeNull();
  expect([projection.ledgerOffset, projection.rowsOffset]).toEqual([4n, 4n]);

  projection.take(4n, values[4] ?? null);
  const write = projection.pendingWrite();
  expect(write).toMatchObject({ fromOffset: 4n, toOffset: 5n, snapshot: null, positionsGone: [] });
  expect(write?.accounts).toEqual([{ account_id: "eve", cash: "880.7", reserved: "0", trading_state: "active", created_at: expect.any(Date) }]);
  expect(write?.orders.map((order) => [order.order_id, order.status, order.filled_qty, order.filled_avg_price])).toEqual([
    ["e-1", "filled", 10n, "11.93"],
  ]);
  // Only the fill at offset 4: the one at offset 3 is in the database already.
  expect(write?.fills.map((fill) => [fill.execution_seq, fill.qty, fill.price])).toEqual([[2n, 6n, "11.95"]]);
  expect(write?.positions).toEqual([{ account_id: "eve", symbol: "F", qty: 10n, cost_basis: "119.3" }]);
  if (write === null || write === undefined) throw new Error("no write");
  projection.written(write);
  expect(projection.pendingWrite()).toBeNull();
});

test("a record taken again after a seek back is passed over", () => {
  const { values, ledgers } = eveRecords();
  const projection = new PartitionProjection("wal", 0, { ...fresh(), rowsOffset: 0n }, 1_000);
  values.forEach((value, offset) => projection.take(BigInt(offset), value));
  values.forEach((value, offset) => projection.take(BigInt(offset), value));
  const write = projection.pendingWrite();
  expect(write?.fills.length).toBe(2);
  expect(write?.accounts[0]?.cash).toBe("880.7");
  const snapshotAtEnd = new PartitionProjection("wal", 0, { ...fresh(), rowsOffset: 0n }, 1);
  values.forEach((value, offset) => snapshotAtEnd.take(BigInt(offset), value));
  const withSnapshot = snapshotAtEnd.pendingWrite();
  expect(withSnapshot?.snapshot).toMatchObject({ nextOffset: 5n, nextSequence: 5n, epoch: 1n });
  expect(withSnapshot?.snapshot?.state).toEqual(encodeLedger(ledgers[4] ?? new Map()));
});

test("a refused record (garbage, a gap) changes nothing, and the records before it can still be written", () => {
  const { values } = eveRecords();
  const projection = new PartitionProjection("wal", 0, { ...fresh(), rowsOffset: 0n }, 1_000);
  projection.take(0n, values[0] ?? null);
  projection.take(1n, values[1] ?? null);
  expect(() => projection.take(2n, new TextEncoder().encode("garbage"))).toThrow(RecordRefused);
  expect(() => projection.take(2n, values[3] ?? null)).toThrow("topic wal partition 0 offset 2: record has sequence 3 but 2 was expected; the log has a gap");
  const stale = encodeRecord({ shard: 1, epoch: 1n, sequence: 2n }, { accountId: "eve", events: [] });
  expect(() => projection.take(2n, stale)).toThrow("topic wal partition 0 offset 2: record belongs to shard 1");
  expect(projection.ledgerOffset).toBe(2n);
  const write = projection.pendingWrite();
  expect(write).toMatchObject({ fromOffset: 0n, toOffset: 2n });
  expect(write?.accounts).toEqual([{ account_id: "eve", cash: "1000", reserved: "0", trading_state: "active", created_at: expect.any(Date) }]);
  // The cursor did not move either: the right record still fits.
  if (write === null || write === undefined) throw new Error("no write");
  projection.written(write);
  projection.take(2n, values[2] ?? null);
  expect(projection.pendingWrite()?.orders.map((order) => order.status)).toEqual(["new"]);
});

test("a snapshot beyond the rows' offset is refused: they are only ever written together", () => {
  expect(() => new PartitionProjection("wal", 3, { ...fresh(), snapshotOffset: 9n, rowsOffset: 8n }, 1_000)).toThrow(
    "topic wal partition 3: the projector's snapshot is at offset 9, beyond its rows at 8",
  );
});
