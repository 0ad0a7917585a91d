// A writer for the kill -9 test: appends records to a SqliteEventLog without pause and prints
// each acknowledged append as "<shard> <offset>" on stdout, until the test kills it. Run as
// `bun test/log/append-until-killed.ts <log path>`; the test imports recordAt to know what
// each offset must hold.
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";

/** The stamp a shard owner puts on a record; the SQLite log stores it as given. */
function at(shard: number, sequence = 0n): RecordHeader {
  return { shard, epoch: 0n, sequence };
}


export const CRASH_SHARDS = 3;
/** Enough appends per tick that batches are real group commits, not one record each. */
const APPENDS_PER_TICK = 64;

/** The record this writer appends at a shard's offset: content the test can recompute. */
export function recordAt(shard: number, offset: bigint): LogRecord {
  return {
    accountId: `acct-${shard}-${offset % 7n}`,
    events: [
      { kind: "cash_deposited", amount: offset * 10_000n + BigInt(shard), atMs: Number(offset) },
      { kind: "order_cancel_requested", orderId: `ord-${shard}-${offset}`, atMs: Number(offset) + 1 },
    ],
  };
}

async function appendUntilKilled(path: string): Promise<never> {
  const log = SqliteEventLog.open(path);
  const nextOffsets: bigint[] = [];
  for (let shard = 0; shard < CRASH_SHARDS; shard += 1) nextOffsets.push(await log.endOffset(shard));
  for (;;) {
    const acknowledged: Promise<string>[] = [];
    for (let index = 0; index < APPENDS_PER_TICK; index += 1) {
      const shard = index % CRASH_SHARDS;
      const offset = nextOffsets[shard] ?? 0n;
      nextOffsets[shard] = offset + 1n;
      acknowledged.push(
        log.append(at(shard), recordAt(shard, offset)).then((stored) => {
          if (stored !== offset) throw new Error(`shard ${shard}: expected offset ${offset}, got ${stored}`);
          return `${shard} ${stored}\n`;
        }),
      );
    }
    // Printed only after the append resolved: every line is an acknowledgement.
    process.stdout.write((await Promise.all(acknowledged)).join(""));
  }
}

if (import.meta.main) {
  const path = process.argv[2];
  if (path === undefined) throw new Error("usage: bun test/log/append-until-killed.ts <log path>");
  await appendUntilKilled(path);
}
