// The key store the configuration names: Postgres when postgres.url is set (keys then live with
// the snapshots and shard claims, reachable from every balancer), else a SQLite file in the data
// directory beside the nodes' files.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.ts";
import type { KeyStore } from "./key-store.ts";
import { PostgresKeyStore } from "./postgres-key-store.ts";
import { SqliteKeyStore } from "./sqlite-key-store.ts";

export const KEY_STORE_FILE = "api-keys.sqlite";

export async function openKeyStore(config: ClusterConfig): Promise<KeyStore> {
  if (config.postgres.url !== "") return PostgresKeyStore.open(config.postgres.url, { retryForMs: config.postgres.connectRetryMs });
  mkdirSync(config.dataDir, { recursive: true });
  return SqliteKeyStore.open(join(config.dataDir, KEY_STORE_FILE));
}
