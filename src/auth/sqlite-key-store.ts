// API keys in one SQLite file in the data directory (the embedded default). Balancers on this
// machine share the file; each write bumps the revision in the same transaction, so a poller
// that sees the new revision sees the change.
import { Database } from "bun:sqlite";
import { openDurableDatabase } from "../log/sqlite-durable-open.ts";
import type { ApiKeyRecord } from "./api-key.ts";
import type { KeyStore } from "./key-store.ts";
import { accountOfRecord, recordOfRow, type KeyRow } from "./key-rows.ts";

export class SqliteKeyStore implements KeyStore {
  private readonly insertTx: (record: ApiKeyRecord) => void;
  private readonly revokeTx: (keyId: string, nowMs: number) => KeyRow | null;

  private constructor(private readonly db: Database) {
    const bump = db.query("UPDATE api_key_revision SET revision = revision + 1 WHERE id = 1");
    const insert = db.query(
      "INSERT INTO api_keys (key_id, secret_hash, account_id, admin, label, created_at_ms, revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?, NULL)",
    );
    const revoke = db.query("UPDATE api_keys SET revoked_at_ms = ? WHERE key_id = ? AND revoked_at_ms IS NULL");
    const select = db.query<KeyRow, [string]>("SELECT * FROM api_keys WHERE key_id = ?");
    this.insertTx = db.transaction((record: ApiKeyRecord) => {
      insert.run(record.keyId, record.secretHash, accountOfRecord(record), record.scope.kind === "admin" ? 1 : 0, record.label, record.createdAtMs);
      bump.run();
    }).immediate;
    this.revokeTx = db.transaction((keyId: string, nowMs: number) => {
      if (revoke.run(nowMs, keyId).changes > 0) bump.run();
      return select.get(keyId);
    }).immediate;
  }

  static open(path: string): SqliteKeyStore {
    // FULL: a revocation acknowledged and then lost in a power cut would bring a key back.
    const db = openDurableDatabase(Database, path, { create: true, what: "key store" });
    db.run(
      `CREATE TABLE IF NOT EXISTS api_keys (
         key_id TEXT PRIMARY KEY,
         secret_hash TEXT NOT NULL,
         account_id TEXT,
         admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
         label TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL,
         revoked_at_ms INTEGER,
         CHECK ((admin = 1) = (account_id IS NULL))
       )`,
    );
    db.run("CREATE TABLE IF NOT EXISTS api_key_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL)");
    db.run("INSERT OR IGNORE INTO api_key_revision (id, revision) VALUES (1, 0)");
    return new SqliteKeyStore(db);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    this.insertTx(record);
  }

  async revoke(keyId: string, nowMs: number): Promise<ApiKeyRecord | null> {
    const row = this.revokeTx(keyId, nowMs);
    return row === null ? null : recordOfRow(row);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return this.db.query<KeyRow, []>("SELECT * FROM api_keys ORDER BY created_at_ms, key_id").all().map(recordOfRow);
  }

  async revision(): Promise<bigint> {
    const row = this.db.query<{ revision: bigint }, []>("SELECT revision FROM api_key_revision WHERE id = 1").get();
    return row?.revision ?? 0n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
