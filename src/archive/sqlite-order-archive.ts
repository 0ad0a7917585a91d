// The order archive in a node-local SQLite file. Its writes run on a thread of their own
// (SqliteThread, as the log's and the snapshots' do): inserting, fsyncing and checkpointing
// took a fifth of a loaded node's main thread, in stalls of up to 100 ms. The node's thread
// only encodes the rows and reads on a read-only connection; an order handed over but not yet
// written is found in memory (held), so a read sees every order evicted by the records it
// waited for. One write is with the thread at a time, and writes are ARCHIVE_WRITE_GAP_MS
// apart (group commit): what closes meanwhile waits in held and goes as the next write, so the
// copies queued at the thread stay bounded by one write whatever the disk's pace, and the
// archive's fsyncs (synchronous = FULL, each commit) stay few beside the log's, whose acks wait
// for theirs on the same disk.
import { Database, type Statement } from "bun:sqlite";
import { decodeOrder, encodeOrder } from "../core/ledger-codec.ts";
import type { Order } from "../core/order.ts";
import { openDurableDatabase } from "../log/sqlite-durable-open.ts";
import { SqliteThread, sqliteThreadCode } from "../log/sqlite-thread.ts";
import type { OrderArchive } from "./order-archive.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

export interface ArchiveRetention {
  /**
   * Archived orders that closed this long before the newest archived order closed are deleted
   * (by the orders' own times, like eviction). Bounds the file: about 500 bytes an order with
   * its indexes, so 1 GB holds some 2 million orders.
   */
  keptMs: number;
}

/** Ninety days of closed orders: what a client's statement and dispute window look back over. */
export const ARCHIVE_RETENTION_DEFAULT: ArchiveRetention = { keptMs: 90 * 24 * 60 * 60 * 1000 };

/**
 * Orders per write sent to the thread at most: what a node closing 50,000 orders a second
 * hands over while one write commits, small enough that one message is cheap to encode.
 */
export const ARCHIVE_BATCH_ORDERS_MAX = 4096;

/**
 * The least time from one write to the next unless a full write (ARCHIVE_BATCH_ORDERS_MAX)
 * waits: at most 20 archive commits, each an fsync, a second. An order waits in held (memory it
 * held in the ledger anyway, found by reads) at most this long plus one commit.
 */
export const ARCHIVE_WRITE_GAP_MS = 50;

/** SQLite's page cache on each connection, in KiB: a bound on the archive's memory. */
const ARCHIVE_CACHE_KIB = 16 * 1024;

// Order ids are the node's UUIDv7s, in time order, so their index grows at its end; client
// order ids are indexed only where they differ from the order id (as in the hot ledger).
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS closed_orders (
    account_id TEXT NOT NULL, list_position INTEGER NOT NULL, order_id TEXT NOT NULL,
    client_order_id TEXT, closed_at_ms INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (account_id, list_position)) WITHOUT ROWID`,
  "CREATE INDEX IF NOT EXISTS closed_orders_by_id ON closed_orders (order_id)",
  "CREATE INDEX IF NOT EXISTS closed_orders_by_client_id ON closed_orders (account_id, client_order_id) WHERE client_order_id IS NOT NULL",
  "CREATE INDEX IF NOT EXISTS closed_orders_by_closing ON closed_orders (closed_at_ms)",
];

/** One archived order as the thread writes it. */
type Row = [accountId: string, listPosition: number, orderId: string, clientOrderId: string | null, closedAtMs: number, body: string];

interface WriteRequest {
  rows: Row[];
  /** Rows closed before this are deleted in the same transaction. */
  purgeBeforeMs: number;
}

// INSERT OR REPLACE: replay after a crash archives again what it evicts again, as the same rows.
// Each write deletes about as many rows as it adds once the archive is full: no one long purge.
const ARCHIVE_WRITER = sqliteThreadCode({
  what: "order archive writer",
  create: false,
  begin: `(db) => {
    db.run("PRAGMA cache_size = -${ARCHIVE_CACHE_KIB}");
    const insert = db.prepare(
      "INSERT OR REPLACE INTO closed_orders (account_id, list_position, order_id, client_order_id, closed_at_ms, body) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const purge = db.prepare("DELETE FROM closed_orders WHERE closed_at_ms < ?");
    const write = db.transaction((request) => {
      for (const row of request.rows) insert.run(row[0], row[1], row[2], row[3], row[4], row[5]);
      purge.run(request.purgeBeforeMs);
    });
    return { statements: [insert, purge], answer: (request) => write(request) };
  }`,
});

export class SqliteOrderArchive implements OrderArchive {
  /** Handed over and not yet confirmed written, oldest first; the first `sent` are with the thread. */
  private held: Order[] = [];
  private sent = 0;
  /** The next write's timer, while one is set. */
  private sendTimer: Timer | null = null;
  private lastSentAtMs = Number.NEGATIVE_INFINITY;
  /** The timer's job: encoding and handing over a write, timed as main-thread work. */
  private readonly sendOnTimer = timedJobFn("archive", () => {
    this.sendTimer = null;
    this.sendNext();
  });
  /** The one write with the thread, settled once it is confirmed or refused; null when none is. */
  private writing: Promise<void> | null = null;
  /** Orders handed over and orders confirmed written since open: what flushToDisk waits for. */
  private added = 0;
  private written = 0;
  private writesSent = 0;
  /** A write that failed since the last flushToDisk, which reports it. */
  private failure: Error | null = null;
  private newestClosedMs = Number.NEGATIVE_INFINITY;
  private readonly byId: Statement<{ body: string }>;
  private readonly byClientOrderId: Statement<{ body: string }>;
  private readonly below: Statement<{ body: string }>;
  private readonly count: Statement<{ n: number }>;

  private constructor(
    private readonly reader: Database,
    private readonly writer: SqliteThread<WriteRequest, void>,
    private readonly retention: ArchiveRetention,
  ) {
    this.byId = reader.prepare("SELECT body FROM closed_orders WHERE order_id = ? AND account_id = ? ORDER BY list_position DESC LIMIT 1");
    this.byClientOrderId = reader.prepare(
      "SELECT body FROM closed_orders WHERE account_id = ? AND client_order_id = ? ORDER BY list_position DESC LIMIT 1",
    );
    this.below = reader.prepare("SELECT body FROM closed_orders WHERE account_id = ? AND list_position < ? ORDER BY list_position DESC LIMIT ?");
    this.count = reader.prepare("SELECT count(*) AS n FROM closed_orders");
  }

  static open(path: string, retention: ArchiveRetention = ARCHIVE_RETENTION_DEFAULT): SqliteOrderArchive {
    if (!(Number.isSafeInteger(retention.keptMs) && retention.keptMs > 0)) throw new Error(`archive: keptMs must be a positive integer, got ${retention.keptMs}`);
    // The schema first, here, so that the thread and the reader open a file that has it.
    const setup = openDurableDatabase(Database, path, { create: true, what: "order archive" });
    try {
      for (const statement of SCHEMA) setup.run(statement);
    } finally {
      setup.close();
    }
    const reader = new Database(path, { readonly: true, strict: true });
    reader.run(`PRAGMA cache_size = -${ARCHIVE_CACHE_KIB}`);
    return new SqliteOrderArchive(reader, new SqliteThread(ARCHIVE_WRITER, path), retention);
  }

  add(orders: readonly Order[]): void {
    for (const order of orders) this.held.push(order);
    this.added += orders.length;
    this.scheduleSend();
  }

  async flushToDisk(): Promise<void> {
    // The orders handed over until now, not those added while waiting: under a steady flow
    // there is always a next write, and a snapshot waits only for what it no longer holds.
    const target = this.added;
    // Sent at once, not after the gap: a snapshot is waiting.
    while (this.written < target && this.failure === null) {
      this.sendNext();
      if (this.writing === null) break;
      await this.writing;
    }
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw new Error(`archive: a write failed: ${failure.message}`, { cause: failure });
  }

  findById(accountId: string, orderId: string): Order | undefined {
    const held = this.newestHeld((order) => order.id === orderId && order.accountId === accountId);
    if (held !== undefined) return held;
    const row = this.byId.get(orderId, accountId);
    return row === null ? undefined : decodeOrder(row.body, `archive: order ${orderId}`);
  }

  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined {
    const held = this.newestHeld((order) => order.clientOrderId === clientOrderId && order.accountId === accountId);
    if (held !== undefined) return held;
    // A client order id that is its order's own id is not indexed as such: look it up by order id.
    const row = this.byClientOrderId.get(accountId, clientOrderId) ?? this.byId.get(clientOrderId, accountId);
    const order = row === null ? undefined : decodeOrder(row.body, `archive: client order ${clientOrderId}`);
    return order?.clientOrderId === clientOrderId ? order : undefined;
  }

  listBelow(accountId: string, position: number, count: number): Order[] {
    const written = this.below.all(accountId, position, count).map((row) => decodeOrder(row.body, `archive: account ${accountId} order`));
    const held = this.held.filter((order) => order.accountId === accountId && order.listPosition < position);
    if (held.length === 0) return written;
    // Held orders are newer than most written ones but not all (a replay archives again): merge
    // by position, the held copy winning.
    const byPosition = new Map<number, Order>();
    for (const order of written) byPosition.set(order.listPosition, order);
    for (const order of held) byPosition.set(order.listPosition, order);
    return [...byPosition.values()].sort((a, b) => b.listPosition - a.listPosition).slice(0, count);
  }

  /** Rows on disk once everything held is written: for tests and the soak's figures. */
  async size(): Promise<number> {
    await this.flushToDisk();
    return this.count.get()?.n ?? 0;
  }

  /** Orders handed over and not yet confirmed written. */
  heldCount(): number {
    return this.held.length;
  }

  /** Writes sent to the thread since open: for tests and the soak's figures (orders per write). */
  writeCount(): number {
    return this.writesSent;
  }

  async close(): Promise<void> {
    await this.flushToDisk();
    if (this.sendTimer !== null) clearTimeout(this.sendTimer);
    await this.writer.close();
    this.reader.close();
  }

  /** The newest held order that matches: held orders are few (what closes in a write's gap and commit). */
  private newestHeld(matches: (order: Order) => boolean): Order | undefined {
    for (let index = this.held.length - 1; index >= 0; index -= 1) {
      const order = this.held[index] as Order;
      if (matches(order)) return order;
    }
    return undefined;
  }

  /** Sets the next write's timer: ARCHIVE_WRITE_GAP_MS after the last, at once for a full write. */
  private scheduleSend(): void {
    if (this.sendTimer !== null || this.writing !== null || this.sent === this.held.length) return;
    const full = this.held.length - this.sent >= ARCHIVE_BATCH_ORDERS_MAX;
    const dueInMs = full ? 0 : this.lastSentAtMs + ARCHIVE_WRITE_GAP_MS - performance.now();
    this.sendTimer = setTimeout(this.sendOnTimer, Math.max(0, dueInMs));
  }

  /**
   * Sends the oldest held orders not yet sent (at most ARCHIVE_BATCH_ORDERS_MAX) unless a write
   * is with the thread; each confirmed write sets the timer for the next, so held drains write
   * by write.
   */
  private sendNext(): void {
    if (this.sendTimer !== null) clearTimeout(this.sendTimer);
    this.sendTimer = null;
    if (this.writing !== null || this.sent === this.held.length) return;
    this.lastSentAtMs = performance.now();
    const end = Math.min(this.held.length, this.sent + ARCHIVE_BATCH_ORDERS_MAX);
    const rows: Row[] = [];
    for (let index = this.sent; index < end; index += 1) {
      const order = this.held[index] as Order;
      if (order.updatedAtMs > this.newestClosedMs) this.newestClosedMs = order.updatedAtMs;
      rows.push([order.accountId, order.listPosition, order.id, order.clientOrderId === order.id ? null : order.clientOrderId, order.updatedAtMs, encodeOrder(order)]);
    }
    const count = end - this.sent;
    this.sent = end;
    this.writesSent += 1;
    // A failed archive write loses nothing (the log has every order): the error surfaces at
    // the next flushToDisk, and a snapshot is then not saved, so replay archives them again.
    // After a failure the next write waits for the next add or flush rather than retrying at once.
    this.writing = this.writer.call({ rows, purgeBeforeMs: this.newestClosedMs - this.retention.keptMs }).then(
      () => {
        this.writing = null;
        this.confirm(count);
        this.scheduleSend();
      },
      (error: unknown) => {
        this.writing = null;
        this.retryLater(count, error);
      },
    );
  }

  /**
   * The thread refused the oldest `count` sent orders: they stay held (reads still find them),
   * behind the ones sent since, and go again with the next write.
   */
  private retryLater(count: number, error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    const refused = this.held.splice(0, count);
    this.sent -= count;
    for (const order of refused) this.held.push(order);
  }

  /** The thread wrote the oldest `count` held orders: they are read from disk from now on. */
  private confirm(count: number): void {
    this.held.splice(0, count);
    this.sent -= count;
    this.written += count;
  }
}
