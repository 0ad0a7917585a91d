import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectPostgres, type PostgresSql } from "../../src/snapshot/postgres-connect.ts";
import { applyPostgresMigrations, POSTGRES_MIGRATIONS, type PostgresMigration } from "../../src/snapshot/postgres-migrations.ts";
import { PostgresShardClaims } from "../../src/snapshot/postgres-shard-claims.ts";
import { PostgresSnapshotStore } from "../../src/snapshot/postgres-snapshot-store.ts";
import { recordingLogger, startPostgres, type PostgresServer } from "../support/postgres.ts";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server.stop();
});

async function connect(url: string): Promise<PostgresSql> {
  return connectPostgres(url, {
    logger: recordingLogger().logger,
    retryForMs: 0,
    connectTimeoutMs: 2_000,
    maxConnections: 2,
    applicationName: "oms-migrations-test",
  });
}

async function recordedVersions(sql: PostgresSql): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`select version from oms_schema_migrations order by version`;
  return rows.map((row) => row.version);
}

/** Every version the shipped list has, and the next one, for steps the tests append. */
const ALL = POSTGRES_MIGRATIONS.map((migration) => migration.version);
const NEXT = ALL.length + 1;

const openOptions = { logger: recordingLogger().logger, connectTimeoutMs: 2_000, retryForMs: 0 };

describe("Postgres migrations", () => {
  test("the first open creates the version 1 tables with the promised column types; a second open changes nothing", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const first = await PostgresSnapshotStore.open(url, openOptions);
    await first.close();
    const sql = await connect(url);
    expect(await applyPostgresMigrations(sql, recordingLogger().logger)).toEqual([]);
    const second = await PostgresSnapshotStore.open(url, openOptions);
    await second.close();

    expect(await recordedVersions(sql)).toEqual(ALL);
    const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }[]>`
      select table_name, column_name, data_type, is_nullable from information_schema.columns
      where table_name in ('shard_snapshots', 'shard_owners') order by table_name, ordinal_position`;
    expect(columns.map((c) => `${c.table_name}.${c.column_name} ${c.data_type}${c.is_nullable === "NO" ? " not null" : ""}`)).toEqual([
      "shard_owners.shard integer not null",
      "shard_owners.owner text not null",
      "shard_owners.epoch bigint not null",
      "shard_owners.lease_expires_at timestamp with time zone not null",
      "shard_owners.renewed_at timestamp with time zone",
      "shard_snapshots.shard integer not null",
      "shard_snapshots.next_offset bigint not null",
      "shard_snapshots.next_sequence bigint not null",
      "shard_snapshots.epoch bigint not null",
      "shard_snapshots.state bytea not null",
      "shard_snapshots.taken_at timestamp with time zone not null",
    ]);
    await sql.end({ timeout: 1 });
  });

  test("stores opening at the same moment apply each step exactly once", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const pools = await Promise.all([connect(url), connect(url), connect(url), connect(url)]);
    const applied = await Promise.all(pools.map((sql) => applyPostgresMigrations(sql, recordingLogger().logger)));
    // Each step is applied by exactly one of them; which one takes which step is a race (with
    // three steps, one pool may take step 1 and another the rest).
    expect(applied.flat().sort((a, b) => a - b)).toEqual(ALL);
    // And through the public open path, stores and claims together, on a second fresh database.
    const other = await server.createDatabase(`migrations_${++databases}`);
    const opened = await Promise.all([
      PostgresSnapshotStore.open(other, openOptions),
      PostgresShardClaims.open(other, openOptions),
      PostgresSnapshotStore.open(other, openOptions),
    ]);
    for (const store of opened) await store.close();
    const otherSql = await connect(other);
    expect(await recordedVersions(otherSql)).toEqual(ALL);
    expect(await recordedVersions(pools[0]!)).toEqual(ALL);
    for (const sql of [...pools, otherSql]) await sql.end({ timeout: 1 });
  });

  test("a step appended later is applied once, after the ones before it, and logged", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const sql = await connect(url);
    expect(await applyPostgresMigrations(sql, recordingLogger().logger)).toEqual(ALL);
    const later: PostgresMigration[] = [
      ...POSTGRES_MIGRATIONS,
      { version: NEXT, description: "read model probe", statements: ["create table read_model_probe (id int primary key)", "insert into read_model_probe values (1)"] },
    ];
    const { lines, logger } = recordingLogger();
    expect(await applyPostgresMigrations(sql, logger, later)).toEqual([NEXT]);
    expect(await applyPostgresMigrations(sql, logger, later)).toEqual([]);
    expect(await recordedVersions(sql)).toEqual([...ALL, NEXT]);
    expect([...(await sql`select id from read_model_probe`)]).toEqual([{ id: 1 }]);
    expect(lines.map((line) => line.msg)).toEqual([`postgres schema: applied version ${NEXT} (read model probe)`]);
    await sql.end({ timeout: 1 });
  });

  test("a step that fails leaves nothing of itself behind and is not recorded; fixed, it applies", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const sql = await connect(url);
    const broken: PostgresMigration[] = [
      ...POSTGRES_MIGRATIONS,
      { version: NEXT, description: "half done", statements: ["create table half_done (id int)", "select * from no_such_table"] },
    ];
    await expect(applyPostgresMigrations(sql, recordingLogger().logger, broken)).rejects.toThrow('relation "no_such_table" does not exist');
    expect(await recordedVersions(sql)).toEqual(ALL);
    expect([...(await sql`select to_regclass('half_done') is null as absent`)]).toEqual([{ absent: true }]);
    const fixed: PostgresMigration[] = [...POSTGRES_MIGRATIONS, { version: NEXT, description: "half done", statements: ["create table half_done (id int)"] }];
    expect(await applyPostgresMigrations(sql, recordingLogger().logger, fixed)).toEqual([NEXT]);
    await sql.end({ timeout: 1 });
  });

  test("a list with a gap or out of order is refused before anything runs", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const sql = await connect(url);
    const gap: PostgresMigration[] = [...POSTGRES_MIGRATIONS, { version: NEXT + 1, description: `skips ${NEXT}`, statements: ["select 1"] }];
    await expect(applyPostgresMigrations(sql, recordingLogger().logger, gap)).rejects.toThrow(
      `postgres schema: step ${ALL.length} has version ${NEXT + 1}; versions must run 1, 2, 3, … without gaps`,
    );
    expect([...(await sql`select to_regclass('oms_schema_migrations') is null as absent`)]).toEqual([{ absent: true }]);
    await sql.end({ timeout: 1 });
  });

  test("a database already at a later version than this list knows is used as it is, and noted", async () => {
    const url = await server.createDatabase(`migrations_${++databases}`);
    const sql = await connect(url);
    const newer: PostgresMigration[] = [...POSTGRES_MIGRATIONS, { version: NEXT, description: "from the future", statements: ["select 1"] }];
    await applyPostgresMigrations(sql, recordingLogger().logger, newer);
    const { lines, logger } = recordingLogger();
    expect(await applyPostgresMigrations(sql, logger)).toEqual([]);
    expect(lines).toEqual([{ level: "info", msg: `postgres schema is at version ${NEXT}, beyond the ${ALL.length} this part knows`, fields: undefined }]);
    expect(await recordedVersions(sql)).toEqual([...ALL, NEXT]);
    await sql.end({ timeout: 1 });
  });
});
