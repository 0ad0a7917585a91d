// Closing a SQLite store closes every connection it opened, its worker thread's too, before
// close() resolves: a connection left to the thread's termination would close (and checkpoint)
// at some later moment, while the next owner of the file (a restarted node in the same
// process, a test) is opening it. The last connection to close checkpoints the WAL and deletes
// it, so an absent -wal file after close() shows that no connection was left open (each test
// first sees the file there while the store is open). The closing itself is sqlite-thread.ts's,
// shared by the three threads.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";

let directory = "";

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "oms-sqlite-close-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

test("the snapshot store's writer thread has closed its connection when close() resolves", async () => {
  const path = join(directory, "snapshots.sqlite");
  const store = SqliteSnapshotStore.open(path);
  await store.save({ shard: 1, nextOffset: 5n, nextSequence: 5n, epoch: 1n, state: new Uint8Array([1, 2, 3]) });
  expect(existsSync(`${path}-wal`)).toBe(true);
  await store.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
});

test("the claims store's lease renewer thread has closed its connection when close() resolves", async () => {
  const path = join(directory, "claims.sqlite");
  const claims = SqliteShardClaims.open(path);
  const lease = await claims.claim(2, "node-a", 60_000, 0);
  expect(await claims.renewAll([lease], 60_000)).toHaveLength(1);
  expect(existsSync(`${path}-wal`)).toBe(true);
  await claims.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
});

test("the event log's writer thread has closed its connection when close() resolves", async () => {
  const path = join(directory, "wal.sqlite");
  const log = SqliteEventLog.open(path, { writer: "thread" });
  await log.append({ shard: 0, epoch: 1n, sequence: 1n }, { accountId: "acct-1", events: [{ kind: "account_created", atMs: 1 }] });
  expect(existsSync(`${path}-wal`)).toBe(true);
  await log.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
});
