import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { PostgresShardClaims } from "../../src/snapshot/postgres-shard-claims.ts";
import { recordingLogger, startPostgres, type PostgresServer } from "../support/postgres.ts";
import { describeShardClaimsContract } from "./shard-claims.contract.ts";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server.stop();
});

/** Each opened handle with a silent logger and short connect bounds: the server is local. */
async function openClaims(url: string): Promise<PostgresShardClaims> {
  return PostgresShardClaims.open(url, { logger: recordingLogger().logger, connectTimeoutMs: 2_000, retryForMs: 0 });
}

describeShardClaimsContract("PostgresShardClaims", async () => {
  // A database per test: the contract's shard numbers then never meet an earlier test's rows.
  const url = await server.createDatabase(`claims_${++databases}`);
  return { open: () => openClaims(url), dispose: async () => undefined };
});

describe("PostgresShardClaims on a real server", () => {
  test("the lease's expiry is the server's lease_expires_at in whole milliseconds", async () => {
    const url = await server.createDatabase("claims_expiry");
    const claims = await openClaims(url);
    const lease = await claims.claim(4, "node-a", 60_000, 0);
    const sql = postgres(url, { max: 1, idle_timeout: 1, connect_timeout: 5, fetch_types: false, prepare: false, onnotice: () => undefined });
    const [row] = await sql<{ owner: string; epoch: string; expires_at: string }[]>`
      select owner, epoch::text, to_char(lease_expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as expires_at
      from shard_owners where shard = 4`;
    await sql.end({ timeout: 1 });
    await claims.close();
    expect(row).toEqual({ owner: "node-a", epoch: "1", expires_at: new Date(lease.expiresAtMs).toISOString() });
  });

  test("while the server is down renew throws (not renewed) rather than answering null (fenced), and works again once it is back", async () => {
    const url = await server.createDatabase("claims_outage");
    const claims = await openClaims(url);
    const lease = await claims.claim(1, "node-a", 60_000, 0);
    await server.stopServer();
    try {
      await expect(claims.renew(lease, 60_000)).rejects.toThrow();
    } finally {
      await server.startServer();
    }
    expect((await claims.renew(lease, 60_000))?.epoch).toBe(1n);
    await claims.close();
  }, 20_000);

  test("claims keep working across a server restart", async () => {
    const url = await server.createDatabase("claims_restart");
    const claims = await openClaims(url);
    const first = await claims.claim(1, "node-a", 60_000, 0);
    await server.restart();
    expect((await claims.renew(first, 60_000))?.epoch).toBe(1n);
    expect((await claims.claim(1, "node-a", 60_000, 0)).epoch).toBe(2n);
    await claims.close();
  }, 20_000);
});
