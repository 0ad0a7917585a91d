// `bun bench/sqlite-commit-shape.micro.ts`: what a SQLite log commit costs by where its records
// land in the file, on this machine's disk, with the log's own pragmas (WAL, synchronous=FULL).
// Each commit is one batch of 16 records of 200 B, one per shard of 16, as a loaded node's group
// commit carries them, over a log already holding 200,000 records:
// - one table keyed by (shard, offset): the log's layout before the split by shard; each
//   record lands in the middle of the tree, a page rewritten (and now and then rebalanced) per
//   shard;
// - a table per shard keyed by offset (src/log/sqlite-wal-schema.ts): each record lands at the
//   end of its shard's tree;
// - the whole batch as one row of a table keyed by batch number: the least a commit can write,
//   for scale (the log cannot be read by shard this way without an index of its own).
// Layouts alternate over 3 rounds, so a noisy disk weighs on all alike; each commit is timed.
import { Database, type Statement } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LatencyHistogram } from "./lib/histogram.ts";

const SHARDS = 16;
const RECORD_BYTES = 200;
const BATCH_RECORDS = 16;
const PRELOAD_RECORDS = 200_000;
const COMMITS_PER_ROUND = 2_000;
const ROUNDS = 3;

type Layout = "one table (shard, offset)" | "a table per shard" | "one row per batch";
const LAYOUTS: readonly Layout[] = ["one table (shard, offset)", "a table per shard", "one row per batch"];

interface LogFile {
  db: Database;
  /** Writes one batch's records in the current transaction. */
  writeBatch(batch: number): void;
  close(): void;
}

function open(layout: Layout, dir: string): LogFile {
  const db = new Database(join(dir, `${layout.replaceAll(/\W+/g, "-")}.sqlite`), { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = FULL");
  const record = new Uint8Array(RECORD_BYTES).fill(7);
  const offsets = new Array<number>(SHARDS).fill(0);
  const statements: Statement[] = [];
  let writeBatch: (batch: number) => void;
  if (layout === "one table (shard, offset)") {
    db.run(`CREATE TABLE records (shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (shard, "offset")) WITHOUT ROWID`);
    const insert = db.prepare(`INSERT INTO records (shard, "offset", record) VALUES (?, ?, ?)`);
    statements.push(insert);
    writeBatch = () => {
      for (let shard = 0; shard < BATCH_RECORDS; shard++) insert.run(shard % SHARDS, offsets[shard % SHARDS]!++, record);
    };
  } else if (layout === "a table per shard") {
    const inserts = Array.from({ length: SHARDS }, (_, shard) => {
      db.run(`CREATE TABLE shard_${shard} ("offset" INTEGER PRIMARY KEY, record BLOB NOT NULL)`);
      return db.prepare(`INSERT INTO shard_${shard} ("offset", record) VALUES (?, ?)`);
    });
    statements.push(...inserts);
    writeBatch = () => {
      for (let shard = 0; shard < BATCH_RECORDS; shard++) inserts[shard % SHARDS]!.run(offsets[shard % SHARDS]!++, record);
    };
  } else {
    db.run(`CREATE TABLE batches (batch INTEGER PRIMARY KEY, records BLOB NOT NULL)`);
    const insert = db.prepare(`INSERT INTO batches (batch, records) VALUES (?, ?)`);
    statements.push(insert);
    const packed = new Uint8Array(RECORD_BYTES * BATCH_RECORDS).fill(7);
    writeBatch = (batch) => insert.run(batch, packed);
  }
  db.transaction(() => {
    for (let batch = 0; batch < PRELOAD_RECORDS / BATCH_RECORDS; batch++) writeBatch(-1 - batch);
  })();
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  return {
    db,
    writeBatch,
    close: () => {
      for (const statement of statements) statement.finalize();
      db.close();
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "oms-commit-shape-"));
try {
  const files = new Map(LAYOUTS.map((layout) => [layout, open(layout, dir)]));
  const histograms = new Map(LAYOUTS.map((layout) => [layout, new LatencyHistogram()]));
  let batch = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const layout of LAYOUTS) {
      const file = files.get(layout)!;
      const histogram = histograms.get(layout)!;
      const commit = file.db.transaction(() => file.writeBatch(batch++)).immediate;
      for (let i = 0; i < COMMITS_PER_ROUND; i++) {
        const start = performance.now();
        commit();
        histogram.recordMs(performance.now() - start);
      }
    }
  }
  for (const file of files.values()) file.close();
  console.log(`${ROUNDS} × ${COMMITS_PER_ROUND} commits of ${BATCH_RECORDS} records over ${SHARDS} shards each, after ${PRELOAD_RECORDS.toLocaleString("en-US")}, in ${tmpdir()}:`);
  for (const layout of LAYOUTS) {
    const s = histograms.get(layout)!.summary();
    console.log(`  ${layout.padEnd(26)} p50 ${s.p50_us} µs, p99 ${s.p99_us} µs, p99.9 ${s.p999_us} µs, max ${s.max_us} µs`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
