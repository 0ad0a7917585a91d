// What every call into a venue must satisfy, checked on the caller's stack: a malformed order is
// a bug in the OMS, and it must fail the call that made it (so the node stops before the venue
// works it), wherever the venue itself runs. The simulated venue and the thread that runs it
// both check here.
import type { Qty } from "../core/money.ts";
import { invariant } from "./invariant.ts";
import type { VenueOrder } from "./venue.ts";
import { venueOrderProblem } from "./working-order.ts";

export function checkOrderCall(order: VenueOrder, closed: boolean): void {
  invariant(!closed, `no order reaches a closed venue (order ${order.orderId})`);
  const problem = venueOrderProblem(order);
  invariant(problem === null, `order ${order.orderId} is well formed: ${problem}`);
}

export function checkReplaceCall(replacement: VenueOrder, expectedFilledQty: Qty, closed: boolean): void {
  checkOrderCall(replacement, closed);
  invariant(expectedFilledQty >= 0n, `expectedFilledQty ${expectedFilledQty} is not negative`);
}

export function checkReconcileCall(openOrders: readonly VenueOrder[], closed: boolean): void {
  const orderIds = new Set<string>();
  for (const order of openOrders) {
    checkOrderCall(order, closed);
    invariant(!orderIds.has(order.orderId), `order ${order.orderId} is listed once in a reconcile`);
    orderIds.add(order.orderId);
  }
}
