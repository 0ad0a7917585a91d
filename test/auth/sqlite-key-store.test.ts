import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteKeyStore } from "../../src/auth/sqlite-key-store.ts";
import { describeKeyStoreContract } from "./key-store.contract.ts";

describeKeyStoreContract("SqliteKeyStore", async () => {
  const directory = mkdtempSync(join(tmpdir(), "oms-keys-"));
  const path = join(directory, "api-keys.sqlite");
  return { open: async () => SqliteKeyStore.open(path), dispose: async () => rmSync(directory, { recursive: true, force: true }) };
});
