import { describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { connectPostgres, type ConnectPostgresOptions } from "../../src/snapshot/postgres-connect.ts";
import { PostgresShardClaims } from "../../src/snapshot/postgres-shard-claims.ts";
import { PostgresSnapshotStore } from "../../src/snapshot/postgres-snapshot-store.ts";
import { freePort, recordingLogger, startPostgres } from "../support/postgres.ts";

const RETRY_LINE = /^postgres unreachable at 127\.0\.0\.1:(\d+), retrying in \d+\.\ds: (.+)$/;

function options(logger: ConnectPostgresOptions["logger"], retryForMs: number): ConnectPostgresOptions {
  return { logger, retryForMs, connectTimeoutMs: 1_000, maxConnections: 1, applicationName: "oms-connect-test" };
}

describe("connectPostgres", () => {
  test("an unreachable server is retried with one line per failed attempt, then refused with one clear error", async () => {
    const port = await freePort();
    const { lines, logger } = recordingLogger();
    const failure = await connectPostgres(`postgres://oms@127.0.0.1:${port}/oms`, options(logger, 700)).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    const gaveUp = /^postgres unreachable at 127\.0\.0\.1:(\d+): gave up after (\d+) attempts in \d+\.\ds: (.+)$/.exec(message);
    expect(gaveUp).not.toBeNull();
    expect(gaveUp![1]).toBe(String(port));
    expect(gaveUp![3]).toContain("ECONNREFUSED");
    // Every attempt but the last says it will retry; the last one is the error.
    const attempts = Number(gaveUp![2]);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBe(attempts - 1);
    for (const line of lines) {
      expect(line.level).toBe("warn");
      expect(line.msg).toMatch(RETRY_LINE);
      expect(line.msg).not.toContain("\n");
    }
  });

  test("a server that accepts and hangs up without a word (a proxy with nothing behind it) is an attempt that failed, not a hang", async () => {
    const hangUp: Server = createServer((socket) => socket.once("data", () => socket.end()));
    await new Promise<void>((resolve) => hangUp.listen(0, "127.0.0.1", resolve));
    const address = hangUp.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const { lines, logger } = recordingLogger();
    try {
      await expect(
        connectPostgres(`postgres://oms@127.0.0.1:${port}/oms`, { ...options(logger, 500), connectTimeoutMs: 200 }),
      ).rejects.toThrow(/^postgres unreachable at 127\.0\.0\.1:\d+: gave up after \d+ attempts in \d+\.\ds: no answer within 0\.2s$/);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line.msg).toMatch(/^postgres unreachable at 127\.0\.0\.1:\d+, retrying in \d+\.\ds: no answer within 0\.2s$/);
    } finally {
      await new Promise((resolve) => hangUp.close(resolve));
    }
  });

  test("retryForMs 0 tries once and logs nothing", async () => {
    const port = await freePort();
    const { lines, logger } = recordingLogger();
    await expect(connectPostgres(`postgres://oms@127.0.0.1:${port}/oms`, options(logger, 0))).rejects.toThrow(
      `postgres unreachable at 127.0.0.1:${port}: gave up after 1 attempt in`,
    );
    expect(lines).toEqual([]);
  });

  test("the password in the url appears in no line and no error", async () => {
    const port = await freePort();
    const { lines, logger } = recordingLogger();
    const failure = await connectPostgres(`postgres://oms:s3cret-pw@127.0.0.1:${port}/oms`, options(logger, 300)).catch((e: unknown) => e);
    expect(String(failure)).toStartWith(`Error: postgres unreachable at 127.0.0.1:${port}`);
    expect(String(failure)).not.toContain("s3cret-pw");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.msg).not.toContain("s3cret-pw");
  });

  test("a url that is not postgres://, or asks for an unknown sslmode, is refused at once", async () => {
    const { logger } = recordingLogger();
    await expect(connectPostgres("mysql://root:pw@db:3306/x", options(logger, 10_000))).rejects.toThrow(
      "postgres: the url must start with postgres:// or postgresql://, not mysql://",
    );
    await expect(connectPostgres("not a url", options(logger, 10_000))).rejects.toThrow(
      "postgres: the url is not of the form postgres://user@host:port/database",
    );
    await expect(connectPostgres("postgres://oms@db:5432/oms?sslmode=maybe", options(logger, 10_000))).rejects.toThrow(
      "postgres: sslmode maybe is not one of disable, allow, prefer, require, verify-full",
    );
  });

  test("the stores' open fails with the same clear error when the server never comes", async () => {
    const port = await freePort();
    const url = `postgres://oms@127.0.0.1:${port}/oms`;
    const quiet = { logger: recordingLogger().logger, connectTimeoutMs: 1_000, retryForMs: 300 };
    await expect(PostgresSnapshotStore.open(url, quiet)).rejects.toThrow(`postgres unreachable at 127.0.0.1:${port}: gave up after`);
    await expect(PostgresShardClaims.open(url, quiet)).rejects.toThrow(`postgres unreachable at 127.0.0.1:${port}: gave up after`);
  });

  test("a node started before its database connects once the database comes up, with int8 as bigint and its session settings", async () => {
    const port = await freePort();
    const { lines, logger } = recordingLogger();
    const connecting = connectPostgres(`postgres://postgres@127.0.0.1:${port}/oms_test`, options(logger, 25_000));
    while (lines.length === 0) await Bun.sleep(20);
    const server = await startPostgres({ port });
    try {
      const sql = await connecting;
      const [row] = await sql<{ big: bigint; small: number; bytes: Uint8Array }[]>`
        select 9007199254740993::int8 as big, 7::int4 as small, '\\x00ff'::bytea as bytes`;
      expect(row!.big).toBe(9_007_199_254_740_993n);
      expect(row!.small).toBe(7);
      expect([...row!.bytes]).toEqual([0, 255]);
      // The session settings oms relies on are the ones it asked for, not the server's defaults.
      const [session] = await sql<Record<string, string>[]>`
        select current_setting('application_name') as application_name, current_setting('statement_timeout') as statement_timeout,
               current_setting('lock_timeout') as lock_timeout, current_setting('idle_in_transaction_session_timeout') as idle_in_transaction,
               current_setting('TimeZone') as time_zone`;
      expect(session).toEqual({
        application_name: "oms-connect-test",
        statement_timeout: "30s",
        lock_timeout: "10s",
        idle_in_transaction: "30s",
        time_zone: "UTC",
      });
      await sql.end({ timeout: 1 });
      expect(lines.at(-1)).toEqual({ level: "info", msg: `postgres reachable at 127.0.0.1:${port} after ${lines.length} attempts`, fields: undefined });
      expect(lines.slice(0, -1).every((line) => RETRY_LINE.test(line.msg))).toBe(true);
    } finally {
      await server.stop();
    }
  }, 30_000);
});
