// One handler per public method, as the node runs it: parse the wire request, build the
// core command with the node's ids, clock and market price, commit or read, render the reply.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { findOrder, orderByClientOrderId, type Account } from "../core/account.ts";
import { isOpen, type Order } from "../core/order.ts";
import { orderAt, orderCount } from "../core/order-list.ts";
import { reject, type Rejection } from "../core/rejection.ts";
import type { NodeCommand, NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import { NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import type { CreateAccountRequest, DepositRequest } from "../gen/oms/v1/account_service_pb.ts";
import {
  OrderStatusFilter,
  type CancelOrderRequest,
  type GetOrderRequest,
  type ListOrdersRequest,
  type ReplaceOrderRequest,
  type SubmitOrderRequest,
} from "../gen/oms/v1/order_service_pb.ts";
import type { OmsNode, Outcome } from "./oms-node.ts";
import { rejectionResult } from "./rejection-result.ts";
import * as parse from "./wire-parse.ts";
import { accountView, orderView, positionView } from "./wire-views.ts";

export const LIST_ORDERS_PAGE_DEFAULT = 50;
export const LIST_ORDERS_PAGE_MAX = 500;

/** A request's fields without protobuf-es's message properties: the Execute path reads them by hand. */
export type SubmitOrderFields = Omit<SubmitOrderRequest, "$typeName" | "$unknown">;
export type CancelOrderFields = Omit<CancelOrderRequest, "$typeName" | "$unknown">;
export type ReplaceOrderFields = Omit<ReplaceOrderRequest, "$typeName" | "$unknown">;

/** NodeCommand.command, as fromBinary gives it or, for the hot cases, as plain fields. */
export type NodeCommandCase =
  | Exclude<NodeCommand["command"], { case: "submitOrder" | "cancelOrder" | "replaceOrder" }>
  | { case: "submitOrder"; value: SubmitOrderFields }
  | { case: "cancelOrder"; value: CancelOrderFields }
  | { case: "replaceOrder"; value: ReplaceOrderFields };

/** The cases of NodeResult that hold one Order. */
export type OrderResultCase = "submitOrder" | "cancelOrder" | "replaceOrder" | "getOrder";
export type ResultCase = NonNullable<MessageInitShape<typeof NodeResultSchema>["result"]>;

/**
 * How the node gives back a command's result: as a protobuf-es message (connect-es's route) or
 * already encoded (the Execute fast path). An order is rendered where the command sees it (in
 * commit's or read's render), so the reply shows the state this command produced.
 */
export interface NodeResults<R> {
  order(resultCase: OrderResultCase, order: Order): R;
  rejection(rejection: Rejection): R;
  /** Every other result, its views already built. */
  message(result: ResultCase): R;
}

export const nodeResultMessages: NodeResults<NodeResult> = {
  // Each order case's response holds the order alone: { order }.
  order: (resultCase, order) => create(NodeResultSchema, { result: { case: resultCase, value: { order: orderView(order) } } as ResultCase }),
  rejection: rejectionResult,
  message: (result) => create(NodeResultSchema, { result }),
};

export async function handleNodeCommand<R>(node: OmsNode, c: NodeCommandCase, newId: () => string, results: NodeResults<R>): Promise<R> {
  switch (c.case) {
    case "createAccount":
      return result(results, await createAccount(node, c.value));
    case "deposit":
      return result(results, await deposit(node, c.value));
    case "getAccount":
      return result(results, await withAccountId(c.value.accountId, (id) => node.read(id, (a): ResultCase => ({ case: "getAccount", value: { account: accountView(a, lastPrice(node)) } }))));
    case "listPositions":
      return result(results, await withAccountId(c.value.accountId, (id) => node.read(id, (a): ResultCase => ({ case: "listPositions", value: { positions: positionsOf(node, a) } }))));
    case "submitOrder":
      return rendered(results, await submitOrder(node, c.value, newId, results));
    case "cancelOrder":
      return rendered(results, await cancelOrder(node, c.value, results));
    case "replaceOrder":
      return rendered(results, await replaceOrder(node, c.value, newId, results));
    case "getOrder":
      return rendered(results, await getOrder(node, c.value, results));
    case "listOrders":
      return result(results, await listOrders(node, c.value));
    case undefined:
      return results.rejection(reject("invalid_argument", "command: is required"));
  }
}

function result<R>(results: NodeResults<R>, outcome: Outcome<ResultCase>): R {
  return outcome.ok ? results.message(outcome.value) : results.rejection(outcome.rejection);
}

function rendered<R>(results: NodeResults<R>, outcome: Outcome<R>): R {
  return outcome.ok ? outcome.value : results.rejection(outcome.rejection);
}

async function withAccountId<T>(text: string, then: (accountId: string) => Promise<Outcome<T>>): Promise<Outcome<T>> {
  const accountId = parse.parseAccountId(text);
  return accountId.ok ? then(accountId.value) : accountId;
}

function createAccount(node: OmsNode, request: CreateAccountRequest): Promise<Outcome<ResultCase>> {
  return withAccountId(request.accountId, (accountId) =>
    node.commit({ kind: "create_account", accountId, atMs: node.clock() }, (account): ResultCase => ({
      case: "createAccount",
      value: { account: accountView(account, lastPrice(node)) },
    })),
  );
}

function deposit(node: OmsNode, request: DepositRequest): Promise<Outcome<ResultCase>> {
  return withAccountId(request.accountId, (accountId) => {
    const amount = parse.parseDepositAmount(request.amount);
    if (!amount.ok) return Promise.resolve(amount);
    return node.commit({ kind: "deposit", accountId, amount: amount.value, atMs: node.clock() }, (account): ResultCase => ({
      case: "deposit",
      value: { account: accountView(account, lastPrice(node)) },
    }));
  });
}

function submitOrder<R>(node: OmsNode, request: SubmitOrderFields, newId: () => string, results: NodeResults<R>): Promise<Outcome<R>> {
  return withAccountId(request.accountId, (accountId) => {
    const clientOrderId = parse.parseClientOrderId(request.clientOrderId);
    if (!clientOrderId.ok) return Promise.resolve(clientOrderId);
    const symbol = parse.parseSymbol(request.symbol, node.symbols);
    if (!symbol.ok) return Promise.resolve(symbol);
    const side = parse.parseSide(request.side);
    if (!side.ok) return Promise.resolve(side);
    const type = parse.parseOrderType(request.type);
    if (!type.ok) return Promise.resolve(type);
    const timeInForce = parse.parseTimeInForce(request.timeInForce);
    if (!timeInForce.ok) return Promise.resolve(timeInForce);
    const qty = parse.parseQty("qty", request.qty);
    if (!qty.ok) return Promise.resolve(qty);
    const limitPrice = parse.parsePrice("limit_price", request.limitPrice);
    if (!limitPrice.ok) return Promise.resolve(limitPrice);
    const stopPrice = parse.parsePrice("stop_price", request.stopPrice);
    if (!stopPrice.ok) return Promise.resolve(stopPrice);
    const orderId = newId();
    const command = {
      kind: "submit_order" as const,
      accountId,
      orderId,
      clientOrderId: clientOrderId.value ?? orderId,
      symbol: symbol.value,
      side: side.value,
      type: type.value,
      timeInForce: timeInForce.value,
      qty: qty.value,
      limitPrice: limitPrice.value,
      stopPrice: stopPrice.value,
      askPrice: node.venue.quote(symbol.value)?.ask ?? 0n,
      atMs: node.clock(),
    };
    return node.commit(command, (account, duplicateOf) => results.order("submitOrder", orderOf(account, duplicateOf ?? orderId)));
  });
}

function cancelOrder<R>(node: OmsNode, request: CancelOrderFields, results: NodeResults<R>): Promise<Outcome<R>> {
  return withAccountId(request.accountId, (accountId) => {
    if (request.orderId === "") return Promise.resolve({ ok: false, rejection: reject("invalid_argument", "order_id: is required") });
    return node.commit({ kind: "cancel_order", accountId, orderId: request.orderId, atMs: node.clock() }, (account) =>
      results.order("cancelOrder", orderOf(account, request.orderId)),
    );
  });
}

function replaceOrder<R>(node: OmsNode, request: ReplaceOrderFields, newId: () => string, results: NodeResults<R>): Promise<Outcome<R>> {
  return withAccountId(request.accountId, (accountId) => {
    if (request.orderId === "") return Promise.resolve({ ok: false, rejection: reject("invalid_argument", "order_id: is required") });
    const clientOrderId = parse.parseClientOrderId(request.clientOrderId);
    if (!clientOrderId.ok) return Promise.resolve(clientOrderId);
    const qty = parse.parseOptionalQty("qty", request.qty);
    if (!qty.ok) return Promise.resolve(qty);
    const limitPrice = parse.parsePrice("limit_price", request.limitPrice);
    if (!limitPrice.ok) return Promise.resolve(limitPrice);
    const stopPrice = parse.parsePrice("stop_price", request.stopPrice);
    if (!stopPrice.ok) return Promise.resolve(stopPrice);
    const timeInForce = parse.parseOptionalTimeInForce(request.timeInForce);
    if (!timeInForce.ok) return Promise.resolve(timeInForce);
    const newOrderId = newId();
    const symbol = node.peekOrder(accountId, request.orderId)?.symbol;
    const command = {
      kind: "replace_order" as const,
      accountId,
      orderId: request.orderId,
      newOrderId,
      clientOrderId: clientOrderId.value ?? newOrderId,
      qty: qty.value,
      limitPrice: limitPrice.value,
      stopPrice: stopPrice.value,
      timeInForce: timeInForce.value,
      askPrice: symbol === undefined ? 0n : (node.venue.quote(symbol)?.ask ?? 0n),
      atMs: node.clock(),
    };
    return node.commit(command, (account) => results.order("replaceOrder", orderOf(account, newOrderId)));
  });
}

function getOrder<R>(node: OmsNode, request: GetOrderRequest, results: NodeResults<R>): Promise<Outcome<R>> {
  return withAccountId(request.accountId, (accountId) =>
    node.read(accountId, (account): Outcome<R> => {
      const key = request.key;
      if (key.case === undefined || key.value === "") return { ok: false, rejection: reject("invalid_argument", "order_id: order_id or client_order_id is required") };
      const order = key.case === "orderId" ? findOrder(account, key.value) : orderByClientOrderId(account, key.value);
      if (order === undefined) {
        const field = key.case === "orderId" ? "order_id" : "client_order_id";
        return { ok: false, rejection: reject("not_found", `${field}: order ${key.value} not found`) };
      }
      return { ok: true, value: results.order("getOrder", order) };
    }).then(flatten),
  );
}

function listOrders(node: OmsNode, request: ListOrdersRequest): Promise<Outcome<ResultCase>> {
  return withAccountId(request.accountId, (accountId) => {
    const pageSize = request.pageSize === 0 ? LIST_ORDERS_PAGE_DEFAULT : request.pageSize;
    if (pageSize > LIST_ORDERS_PAGE_MAX) {
      return Promise.resolve({ ok: false, rejection: reject("invalid_argument", `page_size: must be at most ${LIST_ORDERS_PAGE_MAX}`) });
    }
    const filter = request.status === OrderStatusFilter.UNSPECIFIED ? OrderStatusFilter.OPEN : request.status;
    if (!(filter in OrderStatusFilter)) {
      return Promise.resolve({ ok: false, rejection: reject("invalid_argument", "status: unknown order status filter") });
    }
    return node.read(accountId, (account): Outcome<ResultCase> => {
      // The token is the position, in creation order, below which the next page starts.
      let cursor = orderCount(account);
      if (request.pageToken !== "") {
        const parsed = /^\d{1,12}$/.test(request.pageToken) ? Number(request.pageToken) : NaN;
        if (!(parsed <= orderCount(account))) return { ok: false, rejection: reject("invalid_argument", "page_token: is not a token this account issued") };
        cursor = parsed;
      }
      const orders = [];
      while (cursor > 0 && orders.length < pageSize) {
        cursor -= 1;
        const order = orderAt(account, cursor);
        if (order === undefined) throw new Error(`invariant: account ${account.id} lists ${orderCount(account)} orders but has none at ${cursor}`);
        const open = isOpen(order.status);
        if (filter === OrderStatusFilter.ALL || (filter === OrderStatusFilter.OPEN) === open) orders.push(orderView(order));
      }
      return { ok: true, value: { case: "listOrders", value: { orders, nextPageToken: cursor > 0 ? String(cursor) : "" } } };
    }).then(flatten);
  });
}

function flatten<T>(outcome: Outcome<Outcome<T>>): Outcome<T> {
  return outcome.ok ? outcome.value : outcome;
}

function orderOf(account: Account, orderId: string) {
  const order = findOrder(account, orderId);
  if (order === undefined) throw new Error(`invariant: order ${orderId} missing from account ${account.id}`);
  return order;
}

function positionsOf(node: OmsNode, account: Account) {
  return [...account.positions.values()].filter((p) => p.qty > 0n).map((p) => positionView(p, node.venue.quote(p.symbol)?.last));
}

function lastPrice(node: OmsNode) {
  return (symbol: string) => node.venue.quote(symbol)?.last;
}
