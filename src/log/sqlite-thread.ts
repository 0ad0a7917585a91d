// A worker thread that owns one SQLite connection and commits on it, so that a commit and its
// fsync do not stop the node's event loop: the log writer, the snapshot writer and the lease
// renewer. What they share lives here once, on both sides: the thread opens its connection by
// openDurableDatabase's rules when asked {open: path}, prepares what it needs, answers each
// request in order, and on {close: true} finalizes its statements and closes the connection
// before the thread is stopped. Each thread's own code is the `begin` it gives.
import { openDurableDatabase } from "./sqlite-durable-open.ts";
import { WorkerCalls, type WorkerAnswer } from "./worker-calls.ts";

/** What a thread prepares once its connection is open. */
export interface SqliteThreadSession {
  /** Finalized before the connection closes. */
  statements: { finalize(): void }[];
  /** The answer to one request; throwing answers it with the error. */
  answer(request: unknown): unknown;
}

/** The part of the worker's global scope the thread uses (`self` there; a stand-in in tests). */
export interface SqliteThreadScope {
  onmessage: ((message: { data: unknown }) => void) | null;
  postMessage(answer: WorkerAnswer<unknown>): void;
}

/** The code of one thread and the name its errors carry. */
export interface SqliteThreadCode {
  what: string;
  source: string;
}

/**
 * The thread's message loop. Self-contained (no names from outside it): the thread runs its
 * source text, with its scope, how to open and what to prepare passed in.
 */
export function serveSqliteThread<Db extends { close(): void }>(
  scope: SqliteThreadScope,
  what: string,
  open: (path: string) => Db,
  begin: (db: Db) => SqliteThreadSession,
): void {
  let db: Db | null = null;
  let session: SqliteThreadSession | null = null;
  // A failed open is not answered to anyone (the caller does not wait for it): later requests
  // carry its reason instead.
  let notOpen = `${what} used before it was opened`;
  scope.onmessage = (message) => {
    const request = message.data as { open?: string; close?: true };
    try {
      let value: unknown = null;
      if (request.open !== undefined) {
        try {
          db = open(request.open);
          session = begin(db);
        } catch (error) {
          notOpen = `${what} could not open ${request.open}: ${error instanceof Error ? error.message : String(error)}`;
          throw error;
        }
      } else if (request.close !== undefined) {
        // Closed here rather than left to terminate(): a connection dropped with the thread
        // would close (and checkpoint) at some later moment, when the file may be opened again.
        const statements = session?.statements ?? [];
        session = null;
        notOpen = `${what} used after it was closed`;
        for (const statement of statements) statement.finalize();
        db?.close();
        db = null;
      } else {
        if (session === null) throw new Error(notOpen);
        value = session.answer(request);
      }
      scope.postMessage({ ok: true, value });
    } catch (error) {
      scope.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/**
 * A thread's source: the shared loop and open, then `helpers` (more self-contained code it
 * uses), then `begin`, the source of a function (db) => SqliteThreadSession.
 */
export function sqliteThreadCode(thread: { what: string; create: boolean; helpers?: string; begin: string }): SqliteThreadCode {
  const openOptions = JSON.stringify({ create: thread.create, what: thread.what });
  const source = `
import { Database } from "bun:sqlite";
const openDurableDatabase = ${openDurableDatabase.toString()};
const serveSqliteThread = ${serveSqliteThread.toString()};
${thread.helpers ?? ""}
serveSqliteThread(self, ${JSON.stringify(thread.what)}, (path) => openDurableDatabase(Database, path, ${openOptions}), ${thread.begin});
`;
  return { what: thread.what, source };
}

/** The node's side: opens the thread's connection, sends requests, closes it before stopping. */
export class SqliteThread<Request, Answer> {
  private readonly calls: WorkerCalls<Request | { open: string } | { close: true }, Answer>;

  constructor(code: SqliteThreadCode, path: string) {
    this.calls = new WorkerCalls(code.what, code.source);
    // The open is answered like a request (its answer is not looked at): a failure to open
    // fails the first request, with the reason.
    this.calls.call({ open: path }).catch(() => undefined);
  }

  /** Answered in the order sent; the buffers in transfer move to the thread uncopied. */
  call(request: Request, transfer: ArrayBuffer[] = []): Promise<Answer> {
    return this.calls.call(request, transfer);
  }

  /** Told once if the thread fails (see WorkerCalls.onFailure). */
  onFailure(listener: (error: Error) => void): void {
    this.calls.onFailure(listener);
  }

  /** After the requests sent have been answered, the thread closes its connection, then stops. */
  close(): Promise<void> {
    return this.calls.close({ close: true });
  }
}
