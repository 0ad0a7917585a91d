// Closed orders that have left the hot ledger (core/account.ts evictClosedOrders), kept on disk
// so that GetOrder and ListOrders still answer for them. Derived data, never the source of
// truth: everything in it is also in the log, and the node hands an order over only once the
// record that evicted it is durable, so the archive never holds what the log may lose.
import type { Order } from "../core/order.ts";

export interface OrderArchive {
  /** Evicted orders, from durable records: found by the reads below at once, written later. */
  add(orders: readonly Order[]): void;
  /** Resolves once every order added so far is on disk: before a snapshot that no longer holds them is saved. */
  flushToDisk(): Promise<void>;
  /** The archived order of the account with this id. */
  findById(accountId: string, orderId: string): Order | undefined;
  /** The newest archived order of the account that carries this client order id. */
  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined;
  /** The account's archived orders below this list position, newest first, at most count. */
  listBelow(accountId: string, position: number, count: number): Order[];
  /** Writes what is held, then closes. */
  close(): Promise<void>;
}
