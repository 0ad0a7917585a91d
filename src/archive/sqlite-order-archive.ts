// The order archive in a node-local SQLite file. Writes are batched off the commit path (the
// pipeline only pushes to an array); reads flush first, so a read sees every order evicted by
// the records it waited for.
import { Database, type Statement } from "bun:sqlite";
import { decodeOrder, encodeOrder } from "../core/ledger-codec.ts";
import type { Order } from "../core/order.ts";
import type { OrderArchive } from "./order-archive.ts";

export interface ArchiveRetention {
  /**
   * Archived orders that closed this long before the newest archived order closed are deleted
   * (by the orders' own times, like eviction). Bounds the file: about 500 bytes an order.
   */
  keptMs: number;
}

/** Ninety days of closed orders: what a client's statement and dispute window look back over. */
export const ARCHIVE_RETENTION_DEFAULT: ArchiveRetention = { keptMs: 90 * 24 * 60 * 60 * 1000 };

/**
 * Orders held before a batch is written at once: one transaction per this many keeps the
 * write per order small; below it, a batch waits at most ARCHIVE_FLUSH_EVERY_MS.
 */
export const ARCHIVE_BATCH_ORDERS_MAX = 4096;
export const ARCHIVE_FLUSH_EVERY_MS = 200;

/** A purge runs at most once per this much order time, so it is one indexed range delete per minute. */
const PURGE_EVERY_MS = 60_000;

export class SqliteOrderArchive implements OrderArchive {
  private pending: Order[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private newestClosedMs = Number.NEGATIVE_INFINITY;
  private purgedAtMs = Number.NEGATIVE_INFINITY;
  private readonly insert: Statement;
  private readonly byId: Statement<{ body: string }>;
  private readonly byClientOrderId: Statement<{ body: string }>;
  private readonly below: Statement<{ body: string }>;
  private readonly purge: Statement;

  private constructor(private readonly db: Database, private readonly retention: ArchiveRetention) {
    // INSERT OR REPLACE: replay after a crash archives again what it evicts again, as the same rows.
    this.insert = db.prepare(
      "INSERT OR REPLACE INTO closed_orders (account_id, list_position, order_id, client_order_id, closed_at_ms, body) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.byId = db.prepare("SELECT body FROM closed_orders WHERE account_id = ? AND order_id = ? ORDER BY list_position DESC LIMIT 1");
    this.byClientOrderId = db.prepare("SELECT body FROM closed_orders WHERE account_id = ? AND client_order_id = ? ORDER BY list_position DESC LIMIT 1");
    this.below = db.prepare("SELECT body FROM closed_orders WHERE account_id = ? AND list_position < ? ORDER BY list_position DESC LIMIT ?");
    this.purge = db.prepare("DELETE FROM closed_orders WHERE closed_at_ms < ?");
  }

  /** path ":memory:" for a test's archive. */
  static open(path: string, retention: ArchiveRetention = ARCHIVE_RETENTION_DEFAULT): SqliteOrderArchive {
    if (!(Number.isSafeInteger(retention.keptMs) && retention.keptMs > 0)) throw new Error(`archive: keptMs must be a positive integer, got ${retention.keptMs}`);
    const db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    // FULL: a flush before a snapshot must be on disk before the snapshot that drops its orders.
    db.run("PRAGMA synchronous = FULL");
    db.run(`CREATE TABLE IF NOT EXISTS closed_orders (
      account_id TEXT NOT NULL, list_position INTEGER NOT NULL, order_id TEXT NOT NULL,
      client_order_id TEXT NOT NULL, closed_at_ms INTEGER NOT NULL, body TEXT NOT NULL,
      PRIMARY KEY (account_id, list_position)) WITHOUT ROWID`);
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_id ON closed_orders (account_id, order_id)");
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_client_id ON closed_orders (account_id, client_order_id)");
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_closing ON closed_orders (closed_at_ms)");
    return new SqliteOrderArchive(db, retention);
  }

  add(orders: readonly Order[]): void {
    for (const order of orders) this.pending.push(order);
    if (this.pending.length >= ARCHIVE_BATCH_ORDERS_MAX) this.flush();
    else if (this.pending.length > 0) this.flushTimer ??= setTimeout(() => this.flush(), ARCHIVE_FLUSH_EVERY_MS);
  }

  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const order of batch) {
        this.insert.run(order.accountId, order.listPosition, order.id, order.clientOrderId, order.updatedAtMs, encodeOrder(order));
        if (order.updatedAtMs > this.newestClosedMs) this.newestClosedMs = order.updatedAtMs;
      }
      if (this.newestClosedMs - this.purgedAtMs >= PURGE_EVERY_MS) {
        this.purgedAtMs = this.newestClosedMs;
        this.purge.run(this.newestClosedMs - this.retention.keptMs);
      }
    })();
  }

  findById(accountId: string, orderId: string): Order | undefined {
    this.flush();
    const row = this.byId.get(accountId, orderId);
    return row === null ? undefined : decodeOrder(row.body, `archive: order ${orderId}`);
  }

  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined {
    this.flush();
    const row = this.byClientOrderId.get(accountId, clientOrderId);
    return row === null ? undefined : decodeOrder(row.body, `archive: client order ${clientOrderId}`);
  }

  listBelow(accountId: string, position: number, count: number): Order[] {
    this.flush();
    return this.below.all(accountId, position, count).map((row) => decodeOrder(row.body, `archive: account ${accountId} order`));
  }

  /** Rows archived: for tests and the soak's figures. */
  size(): number {
    this.flush();
    return (this.db.query("SELECT count(*) AS n FROM closed_orders").get() as { n: number }).n;
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
