// The thread that commits the SQLite log's batches, so that the node's event loop keeps
// deciding commands while a commit waits for fsync. One batch at a time: a batch is answered
// only after its transaction has committed with synchronous=FULL, with the time it ended.
//
// Batches come through a feed the node shares with the thread (a SharedArrayBuffer), not by
// message: the node packs the batch's rows into the feed and bumps a counter with
// Atomics.notify; the thread, asleep in Atomics.wait, commits and answers by bumping another
// that the node awaits with Atomics.waitAsync. Handing a batch over so took p99 288 µs there
// and 30 µs back, against 388 and 116 µs by postMessage, for a thread asleep between batches,
// and 11 and 4 µs against 28 and 15 µs back to back (bench/writer-handoff.micro.ts); the
// batch's bytes are written once, where the thread reads them, with no buffer per batch.
// Opening and closing stay messages (sqlite-thread.ts): the feed is sent as one, and the
// thread leaves its wait loop when the node marks the feed closing, so that the close message
// behind it is served.
//
// The thread's opening and closing are sqlite-thread.ts's; it is covered by the EventLog
// contract tests run with the thread writer, the kill -9 tests and the compiled-binary test.
import { forEachPackedRow } from "./sqlite-packed-batch.ts";
import { sqliteThreadCode } from "./sqlite-thread.ts";
import { shardRecordInserter, WAL_SHARD_TABLE_PREFIX } from "./sqlite-wal-schema.ts";

/**
 * The feed's layout. Int32 slots: SENT, the number of the batch the node placed (from 1), or
 * CLOSING; DONE, the last batch the thread finished; FAILED, 1 if it failed; then the batch's
 * packed BYTES and ROWS, and the failure's MESSAGE_BYTES. Float64 slot COMMITTED_AT: when the
 * commit ended (timeOrigin + now). The failure's text from MESSAGE_AT, the rows from ROWS_AT.
 */
export const FEED = {
  SENT: 0,
  DONE: 1,
  FAILED: 2,
  BYTES: 3,
  ROWS: 4,
  MESSAGE_BYTES: 5,
  CLOSING: -1,
  COMMITTED_AT_F64: 4,
  MESSAGE_AT: 64,
  MESSAGE_BYTES_MAX: 1984,
  ROWS_AT: 2048,
} as const;

/** The thread's wait loop; self-contained (the thread runs its source text). */
export function serveFeed(shared: SharedArrayBuffer, insertAll: (packed: { bytes: Uint8Array; rows: number }) => void, feed: typeof FEED): void {
  const ints = new Int32Array(shared, 0, feed.MESSAGE_AT / 4);
  const floats = new Float64Array(shared, 0, feed.MESSAGE_AT / 8);
  const message = new Uint8Array(shared, feed.MESSAGE_AT, feed.MESSAGE_BYTES_MAX);
  const rows = new Uint8Array(shared, feed.ROWS_AT);
  let done = Atomics.load(ints, feed.DONE);
  for (;;) {
    Atomics.wait(ints, feed.SENT, done);
    const sent = Atomics.load(ints, feed.SENT);
    if (sent === feed.CLOSING) return;
    let failed = 0;
    try {
      insertAll({ bytes: rows.subarray(0, ints[feed.BYTES]), rows: ints[feed.ROWS] as number });
    } catch (error) {
      failed = 1;
      const text = new TextEncoder().encode(error instanceof Error ? error.message : String(error)).subarray(0, feed.MESSAGE_BYTES_MAX);
      message.set(text);
      ints[feed.MESSAGE_BYTES] = text.byteLength;
    }
    ints[feed.FAILED] = failed;
    floats[feed.COMMITTED_AT_F64] = performance.timeOrigin + performance.now();
    done = sent;
    Atomics.store(ints, feed.DONE, done);
    Atomics.notify(ints, feed.DONE);
  }
}

export const WAL_WRITER = sqliteThreadCode({
  what: "event log writer",
  create: true,
  helpers: [
    `const forEachPackedRow = ${forEachPackedRow.toString()};`,
    `const shardRecordInserter = ${shardRecordInserter.toString()};`,
    `const serveFeed = ${serveFeed.toString()};`,
    `const FEED = ${JSON.stringify(FEED)};`,
  ].join("\n"),
  // {feed} is answered at once; the wait loop starts on the thread's next turn, after the
  // answer has gone, and returns when the node marks the feed closing.
  begin: `(db) => {
    const inserter = shardRecordInserter(db, ${JSON.stringify(WAL_SHARD_TABLE_PREFIX)});
    const insertRows = db.transaction((packed) => forEachPackedRow(packed, inserter.insert)).immediate;
    const insertAll = (packed) => inserter.commit(() => insertRows(packed));
    return {
      statements: [inserter],
      answer: (request) => {
        setTimeout(() => serveFeed(request.feed, insertAll, FEED), 0);
        return null;
      },
    };
  }`,
});
