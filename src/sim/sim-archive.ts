// A node's order archive in the simulation: in memory, kept across the node's crashes as its
// disk would be (the SQLite archive writes on a thread of its own, which a seeded run cannot
// schedule). Replay hands the same orders over again and they replace what is kept, as the
// SQLite archive's rows do.
import type { OrderArchive } from "../archive/order-archive.ts";
import type { Order } from "../core/order.ts";

export class SimArchive implements OrderArchive {
  private readonly byAccount = new Map<string, Map<string, Order>>();

  add(orders: readonly Order[]): void {
    for (const order of orders) {
      let orders = this.byAccount.get(order.accountId);
      if (orders === undefined) this.byAccount.set(order.accountId, (orders = new Map()));
      orders.set(order.id, order);
    }
  }

  flushToDisk(): Promise<void> {
    return Promise.resolve();
  }

  findById(accountId: string, orderId: string): Order | undefined {
    return this.byAccount.get(accountId)?.get(orderId);
  }

  findByClientOrderId(accountId: string, clientOrderId: string): Order | undefined {
    let newest: Order | undefined;
    for (const order of this.byAccount.get(accountId)?.values() ?? []) {
      if (order.clientOrderId === clientOrderId && (newest === undefined || order.listPosition > newest.listPosition)) newest = order;
    }
    return newest;
  }

  listBelow(accountId: string, position: number, count: number): Order[] {
    const below = [...(this.byAccount.get(accountId)?.values() ?? [])].filter((order) => order.listPosition < position);
    return below.sort((a, b) => b.listPosition - a.listPosition).slice(0, count);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
