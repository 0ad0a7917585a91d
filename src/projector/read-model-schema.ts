// The read model's tables: what the projector keeps in Postgres for people to query with SQL.
// Money and prices are numeric dollars, exact (the ledger's $0.0001 units as a decimal
// string that Postgres parses); quantities are whole shares. The rows are derived from the
// core's own ledger, so a status or an average price here is the OMS's, not a re-derivation.
//
// projector_offsets is the exactly-once bookkeeping: a partition's next offset is written in
// the same transaction as the rows its records produced. projector_snapshots holds the
// projector's ledger at an offset, so a restart replays from there instead of offset 0.
import type { PostgresMigration } from "../snapshot/postgres-migrations.ts";

/** A step of the shared migration list (src/snapshot/postgres-migrations.ts), version 2. */
export const READ_MODEL_MIGRATION: PostgresMigration = {
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
};
