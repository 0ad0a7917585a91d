// The Postgres schema as an ordered list of steps. Every part of oms that keeps tables in
// Postgres appends its steps to POSTGRES_MIGRATIONS (one version space, so two parts can never
// both claim version 2); a step, once released, is never edited, only followed by another.
//
// Each step runs in its own transaction together with the row that records it, so a step is
// applied whole or not at all. Nodes starting together serialize on one advisory lock, so a
// step runs exactly once however many start at the same moment.
import type { PostgresLogger, PostgresSql } from "./postgres-connect.ts";

export interface PostgresMigration {
  /** 1, 2, 3, … without gaps, in the order the steps run. */
  version: number;
  /** For the log line and for whoever reads this list next. */
  description: string;
  /** Run in order in one transaction; one statement each (the extended protocol takes one). */
  statements: readonly string[];
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: "shard snapshots and shard owners",
    statements: [
      `create table shard_snapshots (
         shard int primary key check (shard >= 0),
         next_offset bigint not null check (next_offset >= 0),
         next_sequence bigint not null,
         epoch bigint not null,
         state bytea not null,
         taken_at timestamptz not null default now()
       )`,
      `create table shard_owners (
         shard int primary key check (shard >= 0),
         owner text not null,
         epoch bigint not null check (epoch >= 1),
         lease_expires_at timestamptz not null
       )`,
    ],
  },
  // The read model that the projector (src/projector) keeps for people to query with SQL:
  // money in numeric dollars, exact; projector_offsets holds each partition's next offset,
  // written in the same transaction as its rows (exactly once).
  {
    version: 2,
    description: "read model: accounts, orders, fills, positions and the projector's offsets and snapshots",
    statements: [
      `create table accounts (
         account_id text primary key,
         cash numeric not null check (cash >= 0),
         reserved numeric not null check (reserved >= 0 and reserved <= cash),
         created_at timestamptz not null
       )`,
      `create table orders (
         order_id text primary key,
         account_id text not null,
         client_order_id text not null,
         symbol text not null,
         side text not null,
         type text not null,
         time_in_force text not null,
         qty bigint not null check (qty > 0),
         limit_price numeric,
         stop_price numeric,
         status text not null,
         filled_qty bigint not null check (filled_qty >= 0 and filled_qty <= qty),
         filled_avg_price numeric,
         replaces text,
         replaced_by text,
         reject_reason text,
         created_at timestamptz not null,
         updated_at timestamptz not null
       )`,
      `create index orders_by_account on orders (account_id, created_at)`,
      `create table fills (
         order_id text not null,
         execution_seq bigint not null,
         account_id text not null,
         symbol text not null,
         side text not null,
         qty bigint not null check (qty > 0),
         price numeric not null,
         executed_at timestamptz not null,
         primary key (order_id, execution_seq)
       )`,
      `create index fills_by_account on fills (account_id, executed_at)`,
      `create table positions (
         account_id text not null,
         symbol text not null,
         qty bigint not null check (qty >= 0),
         cost_basis numeric not null check (cost_basis >= 0),
         primary key (account_id, symbol)
       )`,
      `create table projector_offsets (
         topic text not null,
         partition int not null check (partition >= 0),
         next_offset bigint not null check (next_offset >= 0),
         primary key (topic, partition)
       )`,
      `create table projector_snapshots (
         topic text not null,
         partition int not null check (partition >= 0),
         next_offset bigint not null check (next_offset >= 0),
         next_sequence bigint not null check (next_sequence >= 0),
         epoch bigint not null check (epoch >= 0),
         state bytea not null,
         taken_at timestamptz not null default now(),
         primary key (topic, partition)
       )`,
    ],
  },
  // Issue 10: an admin sets an account's trading state (active, trading_blocked, account_blocked).
  {
    version: 3,
    description: "read model: accounts.trading_state",
    statements: [
      `alter table accounts add column trading_state text not null default 'active'
         check (trading_state in ('active', 'trading_blocked', 'account_blocked'))`,
    ],
  },
  // API keys (src/auth): only a hash of each secret; the revision moves with every issue and
  // revocation, in the same transaction, and is what every balancer polls.
  {
    version: 4,
    description: "api keys and their revision",
    statements: [
      `create table api_keys (
         key_id text primary key,
         secret_hash text not null,
         account_id text,
         admin boolean not null,
         label text not null,
         created_at_ms bigint not null,
         revoked_at_ms bigint,
         check (admin = (account_id is null))
       )`,
      `create table api_key_revision (id int primary key check (id = 1), revision bigint not null)`,
      `insert into api_key_revision (id, revision) values (1, 0)`,
    ],
  },
  // When a shard's holder last proved it was alive (claimed or renewed) on the server's clock:
  // a claimant compares it with the server's start, since a session lock is proof only on the
  // server instance where it was taken (src/snapshot/postgres-shard-claims.ts).
  {
    version: 5,
    description: "shard owners: when the holder last claimed or renewed",
    statements: [`alter table shard_owners add column renewed_at timestamptz`],
  },
];

/** Any fixed number; "oms_migr" in ASCII, so it is recognisable in pg_locks. */
const MIGRATION_LOCK_KEY = 0x6f6d735f6d696772n;

/**
 * Applies the steps not yet recorded, in order, and returns the versions it applied now. A
 * database at a newer version than the list knows is noted, not refused: steps only add, and
 * it is the normal state when a part with more steps (the projector, a newer oms during a
 * rolling upgrade) migrated first.
 */
export async function applyPostgresMigrations(
  sql: PostgresSql,
  logger: PostgresLogger,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  checkMigrationList(migrations);
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    // Checked, not "if not exists": under the lock the answer cannot change, and the
    // "already exists, skipping" notice would be noise on every start.
    const [found] = await tx<{ present: boolean }[]>`select to_regclass('oms_schema_migrations') is not null as present`;
    if (found?.present !== true) {
      await tx`create table oms_schema_migrations (version int primary key, applied_at timestamptz not null default now())`;
    }
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    if (await applyOne(sql, migration)) {
      applied.push(migration.version);
      logger.info(`postgres schema: applied version ${migration.version} (${migration.description})`);
    }
  }
  const [newest] = await sql<{ version: number | null }[]>`select max(version) as version from oms_schema_migrations`;
  const knownMax = migrations.at(-1)?.version ?? 0;
  if (newest?.version != null && newest.version > knownMax) {
    logger.info(`postgres schema is at version ${newest.version}, beyond the ${knownMax} this part knows`);
  }
  return applied;
}

async function applyOne(sql: PostgresSql, migration: PostgresMigration): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    const done = await tx`select 1 from oms_schema_migrations where version = ${migration.version}`;
    if (done.length > 0) return false;
    for (const statement of migration.statements) await tx.unsafe(statement);
    await tx`insert into oms_schema_migrations (version, applied_at) values (${migration.version}, now())`;
    return true;
  });
}

function checkMigrationList(migrations: readonly PostgresMigration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`postgres schema: step ${index} has version ${migration.version}; versions must run 1, 2, 3, … without gaps`);
    }
    if (migration.statements.length === 0) {
      throw new Error(`postgres schema: version ${migration.version} has no statements`);
    }
  });
}
