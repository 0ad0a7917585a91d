// The rules every SQLite writer thread keeps (the log writer, the snapshot writer, the lease
// renewer), run here on this thread with a stand-in for the worker's scope: busy_timeout is the
// first thing set on a connection, a store refuses a file that cannot be durable, the answers
// follow the requests, and closing finalizes the statements before it closes the connection.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDurableDatabase } from "../../src/log/sqlite-durable-open.ts";
import { serveSqliteThread, SqliteThread, sqliteThreadCode, type SqliteThreadScope, type SqliteThreadSession } from "../../src/log/sqlite-thread.ts";
import type { WorkerAnswer } from "../../src/log/worker-calls.ts";

let directory = "";

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "oms-sqlite-thread-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe("openDurableDatabase", () => {
  test("sets busy_timeout before anything else, then WAL and synchronous = FULL, and they hold", () => {
    const ran: string[] = [];
    class RecordingDatabase extends Database {
      override run(sql: string): ReturnType<Database["run"]> {
        ran.push(sql);
        return super.run(sql);
      }
    }
    const db = openDurableDatabase(RecordingDatabase, join(directory, "a.sqlite"), { create: true, what: "test store" });
    expect(ran[0]).toMatch(/^PRAGMA busy_timeout = [1-9]/);
    expect(ran).toContain("PRAGMA journal_mode = WAL");
    expect(ran).toContain("PRAGMA synchronous = FULL");
    expect(db.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 1000n });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2n });
    db.close();
  });

  test("refuses a file that cannot use WAL (an in-memory one here), naming the store and the path", () => {
    expect(() => openDurableDatabase(Database, ":memory:", { create: true, what: "test store" })).toThrow(
      "test store: :memory: cannot use WAL journaling (got memory)",
    );
  });

  test("without create, a missing file is refused rather than made", () => {
    expect(() => openDurableDatabase(Database, join(directory, "missing.sqlite"), { create: false, what: "test store" })).toThrow();
  });
});

/** Runs the thread's loop here: messages in, answers collected. */
function threadHere(begin: (db: FakeDatabase) => SqliteThreadSession, open: (path: string) => FakeDatabase = (path) => new FakeDatabase(path)) {
  const answers: WorkerAnswer<unknown>[] = [];
  const scope: SqliteThreadScope = { onmessage: null, postMessage: (answer) => answers.push(answer) };
  serveSqliteThread(scope, "test thread", open, begin);
  const send = (data: unknown) => scope.onmessage?.({ data });
  return { answers, send };
}

const events: string[] = [];

class FakeDatabase {
  constructor(readonly path: string) {
    events.push(`open ${path}`);
  }

  close(): void {
    events.push("close connection");
  }
}

const statement = (name: string) => ({ finalize: () => events.push(`finalize ${name}`) });

describe("serveSqliteThread", () => {
  beforeEach(() => {
    events.length = 0;
  });

  test("opens, answers each request in order, and on close finalizes every statement before closing the connection", () => {
    const { answers, send } = threadHere(() => ({ statements: [statement("insert"), statement("select")], answer: (request) => (request as { n: number }).n * 2 }));
    send({ open: "file.sqlite" });
    send({ n: 1 });
    send({ n: 2 });
    send({ close: true });
    expect(answers).toEqual([
      { ok: true, value: null },
      { ok: true, value: 2 },
      { ok: true, value: 4 },
      { ok: true, value: null },
    ]);
    expect(events).toEqual(["open file.sqlite", "finalize insert", "finalize select", "close connection"]);
  });

  test("a request's error is its answer, and the thread goes on answering", () => {
    const { answers, send } = threadHere(() => ({
      statements: [],
      answer: (request) => {
        if ((request as { n: number }).n < 0) throw new Error("negative");
        return "fine";
      },
    }));
    send({ open: "file.sqlite" });
    send({ n: -1 });
    send({ n: 1 });
    expect(answers.slice(1)).toEqual([
      { ok: false, error: "negative" },
      { ok: true, value: "fine" },
    ]);
  });

  test("a request before the open, or after a failed one, is refused with the reason", () => {
    const { answers, send } = threadHere(
      () => ({ statements: [], answer: () => "never" }),
      (path) => {
        throw new Error(`no such file ${path}`);
      },
    );
    send({ n: 1 });
    send({ open: "gone.sqlite" });
    send({ n: 2 });
    expect(answers).toEqual([
      { ok: false, error: "test thread used before it was opened" },
      { ok: false, error: "no such file gone.sqlite" },
      { ok: false, error: "test thread could not open gone.sqlite: no such file gone.sqlite" },
    ]);
  });

  test("a close after a failed preparation still closes the connection that was opened", () => {
    const { answers, send } = threadHere(() => {
      throw new Error("no such table");
    });
    send({ open: "file.sqlite" });
    send({ close: true });
    expect(answers[0]).toEqual({ ok: false, error: "no such table" });
    expect(events).toEqual(["open file.sqlite", "close connection"]);
  });
});

test("a thread's source carries the shared open and loop, and the thread's own code after them", () => {
  const { what, source } = sqliteThreadCode({ what: "test writer", create: false, helpers: "const helper = 1;", begin: "(db) => ({ statements: [], answer: () => helper })" });
  expect(what).toBe("test writer");
  expect(source).toContain(`const openDurableDatabase = ${openDurableDatabase.toString()}`);
  expect(source).toContain(`const serveSqliteThread = ${serveSqliteThread.toString()}`);
  expect(source.indexOf("const helper = 1;")).toBeGreaterThan(source.indexOf("const serveSqliteThread"));
  expect(source).toContain('{"create":false,"what":"test writer"}');
});

test("on a real thread, a store's first request after a failed open is refused with the open's reason", async () => {
  const missing = join(directory, "missing.sqlite");
  const thread = new SqliteThread<{ n: number }, string>(sqliteThreadCode({ what: "test reader", create: false, begin: "(db) => ({ statements: [], answer: () => 'read' })" }), missing);
  // Bun 1.4.5's expect().rejects never settles on a promise that a worker settles: caught by hand.
  const outcome = await thread.call({ n: 1 }).then((value) => ({ value }), (error: unknown) => ({ error: String(error) }));
  expect(outcome).toEqual({ error: expect.stringContaining(`test reader could not open ${missing}`) });
  await thread.close();
});
