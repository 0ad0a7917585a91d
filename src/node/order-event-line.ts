// One log line per event, as an operator reads it at debug: the event's kind as the message
// ("order filled"), the order's terms flattened beside the other fields, and money as decimal
// dollars rather than the ledger's units of $0.0001.
import type { Event } from "../core/event.ts";
import { formatCash } from "../core/money.ts";

/** The fields that hold money (Cash or Price); quantities are whole shares and stay as they are. */
const MONEY_FIELDS = new Set(["amount", "price", "holdCash", "limitPrice", "stopPrice", "collarPrice"]);

export function orderEventLine(accountId: string, event: Event): { msg: string; fields: Record<string, unknown> } {
  const { kind, ...rest } = event;
  const flat: Record<string, unknown> = { accountId };
  if ("terms" in rest) {
    const { terms, ...others } = rest;
    const { id, ...termFields } = terms;
    // A replace's event names the old order as orderId; the replacing one is newOrderId.
    flat[kind === "order_accepted" ? "orderId" : "newOrderId"] = id;
    Object.assign(flat, termFields, others);
  } else {
    Object.assign(flat, rest);
  }
  for (const key of MONEY_FIELDS) {
    const value = flat[key];
    if (typeof value === "bigint") flat[key] = formatCash(value);
  }
  return { msg: kind.replaceAll("_", " "), fields: flat };
}
