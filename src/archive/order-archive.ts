// Closed orders that have left the hot ledger (core/account.ts evictClosedOrders), kept on disk
// so that GetOrder and ListOrders still answer for them. Derived data, never the source of
// truth: everything in it is also in the log, and the node writes an order here only once the
// record that evicted it is durable, so the archive never holds what the log may lose.
import type { Order } from "../core/order.ts";

export interface OrderArchive {
  /** Evicted orders, from durable records: kept in memory and written in a later batch. */
  add(orders: readonly Order[]): void;
  /** Writes what add() still holds, so that a read finds it. */
  flush(): void;
  /** flush(), and waits for the disk: before a snapshot that no longer holds those orders is saved. */
  flushToDisk(): void;
  /** The archived order of the account with this id. */
  findById(accountId: string, orderId: string): Order | undefined;
  /** The newest archived order of the account that carries this client order id. */
  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined;
  /** The account's archived orders below this list position, newest first, at most count. */
  listBelow(accountId: string, position: number, count: number): Order[];
  close(): void;
}
