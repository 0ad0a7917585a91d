import { afterAll, beforeAll } from "bun:test";
import { PostgresKeyStore } from "../../src/auth/postgres-key-store.ts";
import { recordingLogger, startPostgres, type PostgresServer } from "../support/postgres.ts";
import { describeKeyStoreContract } from "./key-store.contract.ts";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await server.stop();
});

describeKeyStoreContract("PostgresKeyStore", async () => {
  // A database per test: each starts with no keys, as a new cluster does.
  const url = await server.createDatabase(`keys_${++databases}`);
  return {
    open: () => PostgresKeyStore.open(url, { logger: recordingLogger().logger, connectTimeoutMs: 2_000, retryForMs: 0 }),
    dispose: async () => undefined,
  };
});
