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

  test("while the holder's session lives (a paused process keeps it), the same owner's claim does not take the shard: it waits for the lease, then names the holder", async () => {
    const url = await server.createDatabase("claims_paused_holder");
    const paused = await openClaims(url);
    const restarted = await openClaims(url);
    try {
      const held = await paused.claim(1, "node-a", 60_000, 0);
      await expect(restarted.claim(1, "node-a", 60_000, 300)).rejects.toThrow("shard 1 is held by node-a");
      expect((await paused.renew(held, 60_000))?.epoch).toBe(1n);
    } finally {
      await paused.close();
      await restarted.close();
    }
  });

  test("a holder whose session ends stops holding at once; a claimant then takes the shard without waiting, and the holder's renewal is fenced", async () => {
    const url = await server.createDatabase("claims_session_ended");
    const holder = await openClaims(url);
    const claimant = await openClaims(url);
    try {
      const held = await holder.claim(2, "node-a", 60_000, 0);
      await terminateClaimSessions(url, 1);
      await waitUntil(() => !holder.holding());
      const taken = await claimant.claim(2, "node-a", 60_000, 0);
      expect({ epoch: taken.epoch, previousHolderGone: taken.previousHolderGone }).toEqual({ epoch: 2n, previousHolderGone: true });
      expect(await holder.renew(held, 60_000)).toBeNull();
    } finally {
      await holder.close();
      await claimant.close();
    }
  });

  test("a holder whose session ends and that renews first takes its locks again on the new session: holding again, and a claimant must wait", async () => {
    const url = await server.createDatabase("claims_session_relocked");
    const holder = await openClaims(url);
    const claimant = await openClaims(url);
    try {
      const held = await holder.claim(3, "node-a", 60_000, 0);
      await terminateClaimSessions(url, 1);
      await waitUntil(() => !holder.holding());
      expect((await holder.renew(held, 60_000))?.epoch).toBe(1n);
      expect(holder.holding()).toBe(true);
      await expect(claimant.claim(3, "node-a", 60_000, 300)).rejects.toThrow("shard 3 is held by node-a");
    } finally {
      await holder.close();
      await claimant.close();
    }
  });

  test("after a server restart a free lock proves nothing: a holder that has not renewed since is waited for", async () => {
    const url = await server.createDatabase("claims_server_restarted");
    const holder = await openClaims(url);
    await holder.claim(1, "node-a", 60_000, 0);
    await holder.close();
    await server.restart();
    const claimant = await openClaims(url);
    try {
      await expect(claimant.claim(1, "node-a", 60_000, 300)).rejects.toThrow("shard 1 is held by node-a");
    } finally {
      await claimant.close();
    }
  }, 20_000);
});

/** Ends the claims stores' sessions from outside, as a network reset would; expects `count` of them. */
async function terminateClaimSessions(url: string, count: number): Promise<void> {
  const sql = postgres(url, { max: 1, idle_timeout: 1, connect_timeout: 5, fetch_types: false, prepare: false, onnotice: () => undefined });
  try {
    // The oldest: the holder opened first; the claimant's session stays.
    const ended = await sql<{ pid: number }[]>`
      select pid from pg_stat_activity where application_name = 'oms-shard-claims' and datname = current_database()
      order by backend_start limit ${count}`;
    for (const { pid } of ended) await sql`select pg_terminate_backend(${pid})`;
    expect(ended.length).toBe(count);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const WAIT_POLL_MS = 10;
const WAIT_POLLS_MAX = 500;

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < WAIT_POLLS_MAX && !condition(); i++) await Bun.sleep(WAIT_POLL_MS);
  expect(condition()).toBe(true);
}
