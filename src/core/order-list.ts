// An account's orders in creation order, for newest-first listing and stable paging (a page
// token is a position in this list, and orders are never removed, so a position never moves).
import type { Order } from "./order.ts";

/**
 * Orders a chunk holds. Adding an order writes only to the newest chunk; a full chunk is never
 * written again, so once the collector has promoted it, it is not rescanned on every young
 * collection as one array of all the account's orders was (an account may hold millions).
 * 1024 pointers are 8 KiB: small to rescan, and the list of chunks grows once per 1024 orders.
 */
const CHUNK_ORDERS = 1024;

export class OrderList {
  private readonly chunks: Order[][] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(order: Order): void {
    const index = this.count % CHUNK_ORDERS;
    if (index === 0) this.chunks.push([order]);
    else (this.chunks[this.chunks.length - 1] as Order[]).push(order);
    this.count += 1;
  }

  /** The order created position-th (from 0), or undefined outside 0..length-1. */
  at(position: number): Order | undefined {
    if (!(position >= 0 && position < this.count)) return undefined;
    return this.chunks[Math.floor(position / CHUNK_ORDERS)]?.[position % CHUNK_ORDERS];
  }

  *[Symbol.iterator](): Generator<Order> {
    for (const chunk of this.chunks) yield* chunk;
  }
}
