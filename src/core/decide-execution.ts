// Decisions on what the venue reports. The venue is outside our control, so a report that
// contradicts the ledger is refused (and the node raises it loudly), never applied.
import { findOrder, type Account } from "./account.ts";
import type { ApplyExecution } from "./command.ts";
import { isOpen, remainingQty, type Order } from "./order.ts";
import { reject } from "./rejection.ts";
import type { Decision } from "./state-machine.ts";

export function decideExecution(account: Account, command: ApplyExecution): Decision {
  const order = findOrder(account, command.orderId);
  if (order === undefined) return refuse("not_found", `order_id: order ${command.orderId} not found`);
  const { execution, atMs } = command;
  const orderId = order.id;
  switch (execution.kind) {
    case "fill":
      return decideFill(order, execution.seq, execution.qty, execution.price, atMs);
    case "canceled":
      return closing(order, { kind: "order_canceled", orderId, reason: execution.reason, atMs });
    case "expired":
      return closing(order, { kind: "order_expired", orderId, atMs });
    case "rejected":
      return closing(order, { kind: "order_rejected", orderId, reason: execution.reason, atMs });
    case "replaced": {
      const pending = order.pendingReplace;
      if (order.status !== "pending_replace" || pending === null || pending.newOrderId !== execution.newOrderId) {
        return refuse("failed_precondition", `order_id: order ${orderId} has no pending replace by ${execution.newOrderId}`);
      }
      if (order.filledQty !== pending.filledQty) {
        return refuse("failed_precondition", `order_id: order ${orderId} was filled after the replace was requested`);
      }
      return { ok: true, events: [{ kind: "order_replaced", orderId, newOrderId: execution.newOrderId, atMs }] };
    }
    case "replace_rejected": {
      if (order.pendingReplace === null || order.pendingReplace.newOrderId !== execution.newOrderId) {
        return refuse("failed_precondition", `order_id: order ${orderId} has no pending replace by ${execution.newOrderId}`);
      }
      const event = { kind: "order_replace_rejected", orderId, newOrderId: execution.newOrderId, reason: execution.reason, atMs } as const;
      return { ok: true, events: [event] };
    }
  }
}

function decideFill(order: Order, seq: number, qty: bigint, price: bigint, atMs: number): Decision {
  if (seq <= order.lastExecutionSeq) return { ok: true, events: [] };
  if (!isOpen(order.status) || order.status === "pending_new") {
    return refuse("failed_precondition", `order_id: order ${order.id} is ${order.status} and cannot be filled`);
  }
  if (qty <= 0n || qty > remainingQty(order)) {
    return refuse("failed_precondition", `qty: fill of ${qty} does not fit order ${order.id} (remaining ${remainingQty(order)})`);
  }
  if (price <= 0n) return refuse("failed_precondition", `price: fill price must be positive`);
  if (order.collarPrice !== null && price > order.collarPrice) {
    return refuse("failed_precondition", `price: fill above the collar of buy order ${order.id}`);
  }
  return { ok: true, events: [{ kind: "order_filled", orderId: order.id, executionSeq: seq, qty, price, atMs }] };
}

function closing(order: Order, event: Extract<Decision, { ok: true }>["events"][number]): Decision {
  // Reports about an order that is already closed (an IOC remainder after a cancel, say) are
  // facts we already know: nothing to apply.
  if (!isOpen(order.status)) return { ok: true, events: [] };
  if (order.status === "pending_new") {
    return refuse("failed_precondition", `order_id: order ${order.id} is pending_new; the venue works the order it replaces`);
  }
  return { ok: true, events: [event] };
}

function refuse(code: "not_found" | "failed_precondition", message: string): Decision {
  return { ok: false, rejection: reject(code, message) };
}
