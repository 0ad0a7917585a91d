// API keys in Postgres, with the cluster's other durable state (schema version 3 in
// snapshot/postgres-migrations.ts). Every write bumps the revision in its own transaction.
import { endPostgres, openMigratedPostgres, type PostgresSql, type PostgresStoreOptions } from "../snapshot/postgres-connect.ts";
import type { ApiKeyRecord } from "./api-key.ts";
import type { KeyStore } from "./key-store.ts";
import { accountOfRecord, recordOfRow, type KeyRow } from "./key-rows.ts";

/** Keys change rarely; a balancer polls the revision and issues a key now and then. */
const MAX_CONNECTIONS = 2;

export class PostgresKeyStore implements KeyStore {
  private constructor(private readonly sql: PostgresSql) {}

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresKeyStore> {
    return new PostgresKeyStore(await openMigratedPostgres(url, options, MAX_CONNECTIONS, "oms-keys"));
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`
        insert into api_keys (key_id, secret_hash, account_id, admin, label, created_at_ms, revoked_at_ms)
        values (${record.keyId}, ${record.secretHash}, ${accountOfRecord(record)}, ${record.scope.kind === "admin"}, ${record.label}, ${record.createdAtMs}, null)`;
      await tx`update api_key_revision set revision = revision + 1 where id = 1`;
    });
  }

  async revoke(keyId: string, nowMs: number): Promise<ApiKeyRecord | null> {
    return this.sql.begin(async (tx) => {
      const changed = await tx`update api_keys set revoked_at_ms = ${nowMs} where key_id = ${keyId} and revoked_at_ms is null`;
      if (changed.count > 0) await tx`update api_key_revision set revision = revision + 1 where id = 1`;
      const [row] = await tx<KeyRow[]>`select * from api_keys where key_id = ${keyId}`;
      return row === undefined ? null : recordOfRow(row);
    });
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.sql<KeyRow[]>`select * from api_keys order by created_at_ms, key_id`;
    return rows.map(recordOfRow);
  }

  async revision(): Promise<bigint> {
    const [row] = await this.sql<{ revision: bigint }[]>`select revision from api_key_revision where id = 1`;
    return row?.revision ?? 0n;
  }

  async close(): Promise<void> {
    await endPostgres(this.sql);
  }
}
