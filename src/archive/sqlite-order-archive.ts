// The order archive in a node-local SQLite file. The commit pipeline only pushes evicted orders
// to an array; they are written a slice per event-loop turn, so no command waits behind a long
// write. Reads flush what is still held first, so a read sees every order evicted by the
// records it waited for.
import { Database, type Statement } from "bun:sqlite";
import { decodeOrder, encodeOrder } from "../core/ledger-codec.ts";
import type { Order } from "../core/order.ts";
import type { OrderArchive } from "./order-archive.ts";

export interface ArchiveRetention {
  /**
   * Archived orders that closed this long before the newest archived order closed are deleted
   * (by the orders' own times, like eviction). Bounds the file: about 600 bytes an order with
   * its indexes, so 1 GB holds some 1.7 million orders.
   */
  keptMs: number;
}

/** Ninety days of closed orders: what a client's statement and dispute window look back over. */
export const ARCHIVE_RETENTION_DEFAULT: ArchiveRetention = { keptMs: 90 * 24 * 60 * 60 * 1000 };

/**
 * Orders written per event-loop turn: one transaction of this many is about 2 ms here, short
 * enough to sit between commands without showing in their tail, and large enough that a node
 * closing 50,000 orders a second keeps up with a few hundred turns a second.
 */
export const ARCHIVE_SLICE_ORDERS = 256;

/** SQLite's page cache for the archive, in KiB. */
const ARCHIVE_CACHE_KIB = 32 * 1024;

export class SqliteOrderArchive implements OrderArchive {
  private pending: Order[] = [];
  private pendingFrom = 0;
  private drainScheduled = false;
  private newestClosedMs = Number.NEGATIVE_INFINITY;
  private readonly insert: Statement;
  private readonly byId: Statement<{ body: string }>;
  private readonly byClientOrderId: Statement<{ body: string }>;
  private readonly below: Statement<{ body: string }>;
  private readonly purge: Statement;
  private readonly mark: Statement;

  private constructor(private readonly db: Database, private readonly retention: ArchiveRetention) {
    // INSERT OR REPLACE: replay after a crash archives again what it evicts again, as the same rows.
    this.insert = db.prepare(
      "INSERT OR REPLACE INTO closed_orders (account_id, list_position, order_id, client_order_id, closed_at_ms, body) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.byId = db.prepare("SELECT body FROM closed_orders WHERE order_id = ? AND account_id = ? ORDER BY list_position DESC LIMIT 1");
    this.byClientOrderId = db.prepare(
      "SELECT body FROM closed_orders WHERE account_id = ? AND client_order_id = ? ORDER BY list_position DESC LIMIT 1",
    );
    this.below = db.prepare("SELECT body FROM closed_orders WHERE account_id = ? AND list_position < ? ORDER BY list_position DESC LIMIT ?");
    this.purge = db.prepare("DELETE FROM closed_orders WHERE closed_at_ms < ?");
    this.mark = db.prepare("INSERT OR REPLACE INTO archive_marks (name, value) VALUES ('flushed_to_disk', ?)");
  }

  /** path ":memory:" for a test's archive. */
  static open(path: string, retention: ArchiveRetention = ARCHIVE_RETENTION_DEFAULT): SqliteOrderArchive {
    if (!(Number.isSafeInteger(retention.keptMs) && retention.keptMs > 0)) throw new Error(`archive: keptMs must be a positive integer, got ${retention.keptMs}`);
    const db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    // NORMAL: a slice's commit survives the process dying, not the machine; flushToDisk() is
    // the one write that must survive that too (its fsync covers the slices before it).
    db.run("PRAGMA synchronous = NORMAL");
    // The inserts land at one place per account in the primary key: a cache that holds those
    // pages keeps an insert from reading them back. A bound on the archive's memory.
    db.run(`PRAGMA cache_size = -${ARCHIVE_CACHE_KIB}`);
    db.run(`CREATE TABLE IF NOT EXISTS closed_orders (
      account_id TEXT NOT NULL, list_position INTEGER NOT NULL, order_id TEXT NOT NULL,
      client_order_id TEXT, closed_at_ms INTEGER NOT NULL, body TEXT NOT NULL,
      PRIMARY KEY (account_id, list_position)) WITHOUT ROWID`);
    // Order ids are the node's UUIDv7s, in time order, so this index grows at its end; client
    // order ids are indexed only where they differ from the order id (as in the hot ledger).
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_id ON closed_orders (order_id)");
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_client_id ON closed_orders (account_id, client_order_id) WHERE client_order_id IS NOT NULL");
    db.run("CREATE INDEX IF NOT EXISTS closed_orders_by_closing ON closed_orders (closed_at_ms)");
    db.run("CREATE TABLE IF NOT EXISTS archive_marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    return new SqliteOrderArchive(db, retention);
  }

  add(orders: readonly Order[]): void {
    for (const order of orders) this.pending.push(order);
    if (this.drainScheduled || this.pendingFrom === this.pending.length) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  flush(): void {
    while (this.pendingFrom < this.pending.length) this.writeSlice(this.pending.length - this.pendingFrom);
  }

  flushToDisk(): void {
    this.flush();
    this.db.run("PRAGMA synchronous = FULL");
    try {
      this.mark.run(this.newestClosedMs === Number.NEGATIVE_INFINITY ? 0 : this.newestClosedMs);
    } finally {
      this.db.run("PRAGMA synchronous = NORMAL");
    }
  }

  findById(accountId: string, orderId: string): Order | undefined {
    this.flush();
    const row = this.byId.get(orderId, accountId);
    return row === null ? undefined : decodeOrder(row.body, `archive: order ${orderId}`);
  }

  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined {
    this.flush();
    // A client order id that is its order's own id is not indexed as such: look it up by order id.
    const row = this.byClientOrderId.get(accountId, clientOrderId) ?? this.byId.get(clientOrderId, accountId);
    const order = row === null ? undefined : decodeOrder(row.body, `archive: client order ${clientOrderId}`);
    return order?.clientOrderId === clientOrderId ? order : undefined;
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

  /** Orders handed over and not yet written. */
  pendingCount(): number {
    return this.pending.length - this.pendingFrom;
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  private drain(): void {
    this.drainScheduled = false;
    this.writeSlice(ARCHIVE_SLICE_ORDERS);
    if (this.pendingFrom < this.pending.length) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Writes up to count held orders in one transaction, and purges what the retention no longer keeps. */
  private writeSlice(count: number): void {
    const end = Math.min(this.pending.length, this.pendingFrom + count);
    if (end === this.pendingFrom) return;
    const from = this.pendingFrom;
    this.db.transaction(() => {
      for (let index = from; index < end; index += 1) {
        const order = this.pending[index] as Order;
        const clientOrderId = order.clientOrderId === order.id ? null : order.clientOrderId;
        this.insert.run(order.accountId, order.listPosition, order.id, clientOrderId, order.updatedAtMs, encodeOrder(order));
        if (order.updatedAtMs > this.newestClosedMs) this.newestClosedMs = order.updatedAtMs;
      }
      // Each slice deletes about as many rows as it adds once the archive is full: no one long purge.
      this.purge.run(this.newestClosedMs - this.retention.keptMs);
    })();
    this.pendingFrom = end;
    if (this.pendingFrom === this.pending.length) {
      this.pending = [];
      this.pendingFrom = 0;
    }
  }
}
