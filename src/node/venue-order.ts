// An order as the venue is told of it: what is left of it to fill, on its current terms.
import { remainingQty, type Order } from "../core/order.ts";
import type { VenueOrder } from "../venue/venue.ts";

export function venueOrderOf(order: Order): VenueOrder {
  return {
    orderId: order.id,
    accountId: order.accountId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    qty: remainingQty(order),
    limitPrice: order.limitPrice,
    stopPrice: order.stopPrice,
    collarPrice: order.collarPrice,
    lastExecutionSeq: order.lastExecutionSeq,
  };
}
