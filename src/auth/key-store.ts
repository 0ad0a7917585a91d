// Where API keys live: with the cluster's durable state, so that they survive restarts and
// every balancer sees the same keys. SQLite in the data directory (sqlite-key-store.ts) when
// Postgres is not configured, Postgres (postgres-key-store.ts) otherwise.
import type { ApiKeyRecord } from "./api-key.ts";

export interface KeyStore {
  /** Stores a new key; its id is new (ids are random, 96 bits). */
  insert(record: ApiKeyRecord): Promise<void>;
  /** Marks the key revoked at `nowMs` and returns it as it is now, or null if there is no such key. */
  revoke(keyId: string, nowMs: number): Promise<ApiKeyRecord | null>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /**
   * A number that changes whenever a key is inserted or revoked: balancers poll it (one cheap
   * read) and reload the keys only when it moved.
   */
  revision(): Promise<bigint>;
  close(): Promise<void>;
}
