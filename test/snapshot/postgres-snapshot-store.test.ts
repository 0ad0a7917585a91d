import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { PostgresSnapshotStore } from "../../src/snapshot/postgres-snapshot-store.ts";
import type { ShardSnapshot } from "../../src/snapshot/snapshot-store.ts";
import { recordingLogger, startPostgres, type PostgresServer } from "../support/postgres.ts";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server.stop();
});

/** A store on a database of its own, so tests never see each other's shards. */
async function openFresh(): Promise<{ store: PostgresSnapshotStore; url: string }> {
  const url = await server.createDatabase(`snapshots_${++databases}`);
  return { store: await openStore(url), url };
}

async function openStore(url: string): Promise<PostgresSnapshotStore> {
  return PostgresSnapshotStore.open(url, { logger: recordingLogger().logger, connectTimeoutMs: 2_000, retryForMs: 0 });
}

const snapshot = (shard: number, nextOffset: bigint, state: number[]): ShardSnapshot => ({
  shard,
  nextOffset,
  nextSequence: nextOffset + 1n,
  epoch: 3n,
  state: new Uint8Array(state),
});

describe("PostgresSnapshotStore", () => {
  test("a shard without a snapshot loads as null", async () => {
    const { store } = await openFresh();
    expect(await store.load(3)).toBeNull();
    await store.close();
  });

  test("a saved snapshot loads back exactly after reopening: int8 beyond 2^53 as bigint, bytea as plain bytes", async () => {
    const { store, url } = await openFresh();
    const state = new Uint8Array([0, 1, 2, 0x5c, 0x78, 254, 255]); // 0x5c 0x78 is "\x", bytea's own escape
    const saved: ShardSnapshot = {
      shard: 3,
      nextOffset: 9_007_199_254_740_993n,
      nextSequence: 9_223_372_036_854_775_807n, // int8's maximum
      epoch: 9_007_199_254_740_995n,
      state,
    };
    await store.save(saved);
    await store.close();

    const reopened = await openStore(url);
    const loaded = await reopened.load(3);
    expect(loaded).toEqual(saved);
    expect(Object.getPrototypeOf(loaded!.state)).toBe(Uint8Array.prototype);
    expect(await reopened.load(4)).toBeNull();
    await reopened.close();
  });

  test("a megabyte of random state round-trips byte for byte", async () => {
    const { store } = await openFresh();
    const state = new Uint8Array(randomBytes(1 << 20));
    await store.save({ shard: 0, nextOffset: 1n, nextSequence: 1n, epoch: 1n, state });
    const loaded = await store.load(0);
    expect(Buffer.compare(Buffer.from(loaded!.state), Buffer.from(state))).toBe(0);
    await store.close();
  });

  test("saving again replaces the shard's snapshot and leaves other shards alone", async () => {
    const { store } = await openFresh();
    await store.save(snapshot(1, 10n, [1]));
    await store.save(snapshot(2, 5n, [2]));
    await store.save(snapshot(1, 20n, [1, 1]));
    await store.save(snapshot(2, 5n, [2, 2])); // the same offset again is a replacement, not "older"
    expect(await store.load(1)).toEqual(snapshot(1, 20n, [1, 1]));
    expect(await store.load(2)).toEqual(snapshot(2, 5n, [2, 2]));
    await store.close();
  });

  test("a snapshot older than the stored one is refused and the stored one kept", async () => {
    const { store } = await openFresh();
    await store.save(snapshot(1, 20n, [2]));
    await expect(store.save(snapshot(1, 19n, [1]))).rejects.toThrow(
      "snapshot store: shard 1: refusing a snapshot at offset 19 older than the stored one at 20",
    );
    expect(await store.load(1)).toEqual(snapshot(1, 20n, [2]));
    await store.close();
  });

  test("racing saves from two stores never move a shard back: the newest offset wins", async () => {
    const { store, url } = await openFresh();
    const other = await openStore(url);
    const offsets = [7n, 3n, 12n, 1n, 9n, 15n, 2n, 11n, 4n, 14n, 6n, 13n, 5n, 10n, 8n];
    const outcomes = await Promise.allSettled(offsets.map((offset, i) => (i % 2 === 0 ? store : other).save(snapshot(1, offset, [Number(offset)]))));
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(String(outcome.reason)).toContain("refusing a snapshot at offset");
    }
    expect(await other.load(1)).toEqual(snapshot(1, 15n, [15]));
    await store.close();
    await other.close();
  });

  test("the time a snapshot was taken is the server's", async () => {
    const { store, url } = await openFresh();
    await store.save(snapshot(1, 1n, []));
    await store.close();
    const sql = postgres(url, { max: 1, idle_timeout: 1, connect_timeout: 5, fetch_types: false, prepare: false, onnotice: () => undefined });
    const [row] = await sql<{ recent: boolean }[]>`select taken_at > now() - interval '1 hour' and taken_at <= now() as recent from shard_snapshots where shard = 1`;
    await sql.end({ timeout: 1 });
    expect(row).toEqual({ recent: true });
  });

  test("the test server keeps fsync on, so durability tests mean what they say", async () => {
    const sql = postgres(server.url, { max: 1, idle_timeout: 1, connect_timeout: 5, fetch_types: false, prepare: false, onnotice: () => undefined });
    const rows = await sql<{ fsync: string; synchronous_commit: string }[]>`
      select current_setting('fsync') as fsync, current_setting('synchronous_commit') as synchronous_commit`;
    await sql.end({ timeout: 1 });
    expect(rows[0]).toEqual({ fsync: "on", synchronous_commit: "on" });
  });

  test("a shard id outside Postgres int is refused, and so is a negative offset", async () => {
    const { store } = await openFresh();
    await expect(store.load(-1)).rejects.toThrow("snapshot store: shard must be an integer from 0 to 2147483647, got -1");
    await expect(store.load(2 ** 31)).rejects.toThrow("snapshot store: shard must be an integer from 0 to 2147483647, got 2147483648");
    await expect(store.save(snapshot(1, -1n, []))).rejects.toThrow("snapshot store: shard 1: nextOffset must not be negative, got -1");
    await store.close();
    await expect(store.load(1)).rejects.toThrow("snapshot store: used after close");
  });

  test("the store keeps working after the server restarts, and after an outage once the server is back", async () => {
    const { store } = await openFresh();
    await store.save(snapshot(1, 1n, [1]));
    await server.restart();
    expect(await store.load(1)).toEqual(snapshot(1, 1n, [1]));
    await store.save(snapshot(1, 2n, [2]));

    await server.stopServer();
    try {
      await expect(store.save(snapshot(1, 3n, [3]))).rejects.toThrow();
    } finally {
      await server.startServer();
    }
    // The failed save left nothing behind; the next one goes through.
    expect(await store.load(1)).toEqual(snapshot(1, 2n, [2]));
    await store.save(snapshot(1, 3n, [3]));
    expect(await store.load(1)).toEqual(snapshot(1, 3n, [3]));
    await store.close();
  }, 20_000);
});
