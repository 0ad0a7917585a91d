// Stage 1 of the commit pipeline (commit-pipeline.ts), one function per NodeCommand case: the
// wire fields become a core Command with the node's ids, clock and market price, plus how to
// encode the answer (stage 4) once the command has run; a read becomes the account it reads
// and how to encode what it shows. Every problem with the fields is a refusal naming the field.
import { findOrder, orderByClientOrderId, type Account } from "../core/account.ts";
import type { Command } from "../core/command.ts";
import { isOpen, type Order } from "../core/order.ts";
import { hotOrdersBelow } from "../core/order-list.ts";
import type { OrderArchive } from "../archive/order-archive.ts";
import { reject, type Rejection } from "../core/rejection.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { NodeCommand, NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import type { CreateAccountRequest, DepositRequest, SetTradingStateRequest, WithdrawRequest } from "../gen/oms/v1/account_service_pb.ts";
import {
  OrderStatusFilter,
  type CancelOrderRequest,
  type GetOrderRequest,
  type ListOrdersRequest,
  type ReplaceOrderRequest,
  type SubmitOrderRequest,
} from "../gen/oms/v1/order_service_pb.ts";
import type { Venue } from "../venue/venue.ts";
import { encodedNodeResults } from "./execute-response-encoder.ts";
import * as parse from "./wire-parse.ts";
import { accountView, orderView, positionView } from "./wire-views.ts";

export const LIST_ORDERS_PAGE_DEFAULT = 50;
export const LIST_ORDERS_PAGE_MAX = 500;

/** A request's fields without protobuf-es's message properties: the Execute decoder reads them by hand. */
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

/** How execute-response-encoder.ts encodes each kind of NodeResult. */
export interface NodeResultEncoders {
  order(resultCase: OrderResultCase, order: Order): Uint8Array;
  rejection(rejection: Rejection): Uint8Array;
  /** Every other result, its views already built. */
  message(result: ResultCase): Uint8Array;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

/** Stage 4 of a write: the answer, from the account as this command left it. */
export type WriteAnswer<T> = (account: Account, duplicateOf: string | null) => T;
/** What a read shows once the account's earlier writes are durable; it may still refuse (an order not found). */
export type ReadAnswer = (account: Account) => Outcome<Uint8Array>;

export type ParsedCommand =
  | { kind: "write"; command: Command; answer: WriteAnswer<Uint8Array> }
  | { kind: "read"; accountId: string; answer: ReadAnswer }
  | { kind: "refused"; rejection: Rejection };

/** What parsing takes from the node: what it trades, its clock, its venue's prices. */
export interface ParseContext {
  readonly symbols: ReadonlySet<string>;
  readonly venue: Pick<Venue, "quote">;
  clock(): number;
  /** The order as decided so far, durable or not: only for choosing a market price. */
  peekOrder(accountId: string, orderId: string): Order | undefined;
  /** Closed orders evicted from the hot ledger: reads of old orders look there next. */
  readonly archive: Pick<OrderArchive, "findById" | "findByClientOrderId" | "listBelow">;
}

export function parseCommand(node: ParseContext, c: NodeCommandCase, newId: () => string): ParsedCommand {
  switch (c.case) {
    case "createAccount":
      return parseCreateAccount(node, c.value);
    case "deposit":
      return parseDeposit(node, c.value);
    case "withdraw":
      return parseWithdraw(node, c.value);
    case "setTradingState":
      return parseSetTradingState(node, c.value);
    case "submitOrder":
      return parseSubmitOrder(node, c.value, newId);
    case "cancelOrder":
      return parseCancelOrder(node, c.value);
    case "replaceOrder":
      return parseReplaceOrder(node, c.value, newId);
    case "getAccount":
      return reading(c.value.accountId, (account) => shown({ case: "getAccount", value: { account: accountView(account, lastPrice(node)) } }));
    case "listPositions":
      return reading(c.value.accountId, (account) => shown({ case: "listPositions", value: { positions: positionsOf(node, account) } }));
    case "getOrder":
      return parseGetOrder(node, c.value);
    case "listOrders":
      return parseListOrders(node, c.value);
    case undefined:
      return refused(reject("invalid_argument", "command: is required"));
  }
}

const refused = (rejection: Rejection): ParsedCommand => ({ kind: "refused", rejection });
const shown = (result: ResultCase): Outcome<Uint8Array> => ({ ok: true, value: encodedNodeResults.message(result) });

function reading(accountIdText: string, answer: ReadAnswer): ParsedCommand {
  const accountId = parse.parseAccountId(accountIdText);
  return accountId.ok ? { kind: "read", accountId: accountId.value, answer } : refused(accountId.rejection);
}

function parseCreateAccount(node: ParseContext, request: CreateAccountRequest): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  return {
    kind: "write",
    command: { kind: "create_account", accountId: accountId.value, atMs: node.clock() },
    answer: (account) => encodedNodeResults.message({ case: "createAccount", value: { account: accountView(account, lastPrice(node)) } }),
  };
}

function parseDeposit(node: ParseContext, request: DepositRequest): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  const amount = parse.parseTransferAmount(request.amount, "deposit");
  if (!amount.ok) return refused(amount.rejection);
  return {
    kind: "write",
    command: { kind: "deposit", accountId: accountId.value, amount: amount.value, atMs: node.clock() },
    answer: (account) => encodedNodeResults.message({ case: "deposit", value: { account: accountView(account, lastPrice(node)) } }),
  };
}

function parseWithdraw(node: ParseContext, request: WithdrawRequest): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  const amount = parse.parseTransferAmount(request.amount, "withdrawal");
  if (!amount.ok) return refused(amount.rejection);
  return {
    kind: "write",
    command: { kind: "withdraw", accountId: accountId.value, amount: amount.value, atMs: node.clock() },
    answer: (account) => encodedNodeResults.message({ case: "withdraw", value: { account: accountView(account, lastPrice(node)) } }),
  };
}

function parseSetTradingState(node: ParseContext, request: SetTradingStateRequest): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  const tradingState = parse.parseTradingState(request.tradingState);
  if (!tradingState.ok) return refused(tradingState.rejection);
  return {
    kind: "write",
    command: { kind: "set_trading_state", accountId: accountId.value, tradingState: tradingState.value, atMs: node.clock() },
    answer: (account) => encodedNodeResults.message({ case: "setTradingState", value: { account: accountView(account, lastPrice(node)) } }),
  };
}

function parseSubmitOrder(node: ParseContext, request: SubmitOrderFields, newId: () => string): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  const clientOrderId = parse.parseClientOrderId(request.clientOrderId);
  if (!clientOrderId.ok) return refused(clientOrderId.rejection);
  const symbol = parse.parseSymbol(request.symbol, node.symbols);
  if (!symbol.ok) return refused(symbol.rejection);
  const side = parse.parseSide(request.side);
  if (!side.ok) return refused(side.rejection);
  const type = parse.parseOrderType(request.type);
  if (!type.ok) return refused(type.rejection);
  const timeInForce = parse.parseTimeInForce(request.timeInForce);
  if (!timeInForce.ok) return refused(timeInForce.rejection);
  const qty = parse.parseQty("qty", request.qty);
  if (!qty.ok) return refused(qty.rejection);
  const limitPrice = parse.parsePrice("limit_price", request.limitPrice);
  if (!limitPrice.ok) return refused(limitPrice.rejection);
  const stopPrice = parse.parsePrice("stop_price", request.stopPrice);
  if (!stopPrice.ok) return refused(stopPrice.rejection);
  const orderId = newId();
  const command: Command = {
    kind: "submit_order",
    accountId: accountId.value,
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
  // A resubmission of a client order id is answered with the order it first made.
  return { kind: "write", command, answer: (account, duplicateOf) => encodedNodeResults.order("submitOrder", orderOf(account, duplicateOf ?? orderId)) };
}

function parseCancelOrder(node: ParseContext, request: CancelOrderFields): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  if (request.orderId === "") return refused(reject("invalid_argument", "order_id: is required"));
  const orderId = request.orderId;
  return {
    kind: "write",
    command: { kind: "cancel_order", accountId: accountId.value, orderId, atMs: node.clock() },
    answer: (account) => encodedNodeResults.order("cancelOrder", orderOf(account, orderId)),
  };
}

function parseReplaceOrder(node: ParseContext, request: ReplaceOrderFields, newId: () => string): ParsedCommand {
  const accountId = parse.parseAccountId(request.accountId);
  if (!accountId.ok) return refused(accountId.rejection);
  if (request.orderId === "") return refused(reject("invalid_argument", "order_id: is required"));
  const clientOrderId = parse.parseClientOrderId(request.clientOrderId);
  if (!clientOrderId.ok) return refused(clientOrderId.rejection);
  const qty = parse.parseOptionalQty("qty", request.qty);
  if (!qty.ok) return refused(qty.rejection);
  const limitPrice = parse.parsePrice("limit_price", request.limitPrice);
  if (!limitPrice.ok) return refused(limitPrice.rejection);
  const stopPrice = parse.parsePrice("stop_price", request.stopPrice);
  if (!stopPrice.ok) return refused(stopPrice.rejection);
  const timeInForce = parse.parseOptionalTimeInForce(request.timeInForce);
  if (!timeInForce.ok) return refused(timeInForce.rejection);
  const newOrderId = newId();
  const symbol = node.peekOrder(accountId.value, request.orderId)?.symbol;
  const command: Command = {
    kind: "replace_order",
    accountId: accountId.value,
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
  return { kind: "write", command, answer: (account) => encodedNodeResults.order("replaceOrder", orderOf(account, newOrderId)) };
}

function parseGetOrder(node: ParseContext, request: GetOrderRequest): ParsedCommand {
  const key = request.key;
  return reading(request.accountId, (account) => {
    if (key.case === undefined || key.value === "") return { ok: false, rejection: reject("invalid_argument", "order_id: order_id or client_order_id is required") };
    // The hot ledger first: it holds every open order and the newest closed ones, and a client
    // order id reused after its first order was archived names the newer (hot) order.
    const order = key.case === "orderId"
      ? (findOrder(account, key.value) ?? node.archive.findById(account.id, key.value))
      : (orderByClientOrderId(account, key.value) ?? node.archive.findByClientOrderId(account.id, key.value));
    if (order === undefined) {
      const field = key.case === "orderId" ? "order_id" : "client_order_id";
      return { ok: false, rejection: reject("not_found", `${field}: order ${key.value} not found`) };
    }
    return { ok: true, value: encodedNodeResults.order("getOrder", order) };
  });
}

function parseListOrders(node: ParseContext, request: ListOrdersRequest): ParsedCommand {
  const pageSize = request.pageSize === 0 ? LIST_ORDERS_PAGE_DEFAULT : request.pageSize;
  const filter = request.status === OrderStatusFilter.UNSPECIFIED ? OrderStatusFilter.OPEN : request.status;
  const parsed = reading(request.accountId, (account) => listOrders(node.archive, account, request.pageToken, pageSize, filter));
  if (parsed.kind === "refused") return parsed;
  if (pageSize > LIST_ORDERS_PAGE_MAX) return refused(reject("invalid_argument", `page_size: must be at most ${LIST_ORDERS_PAGE_MAX}`));
  if (!(filter in OrderStatusFilter)) return refused(reject("invalid_argument", "status: unknown order status filter"));
  return parsed;
}

/**
 * A page of the account's orders, newest first, from the hot ledger and the archive merged by
 * list position. The token is the list position of the page's last order: the next page starts
 * below it, wherever those orders now are (an order evicted between pages is then read from
 * the archive, at the same position). The archive holds only closed orders, so an OPEN page
 * never reads it.
 */
function listOrders(archive: ParseContext["archive"], account: Account, pageToken: string, pageSize: number, filter: OrderStatusFilter): Outcome<Uint8Array> {
  let cursor = account.ordersCreated;
  if (pageToken !== "") {
    const parsed = /^\d{1,12}$/.test(pageToken) ? Number(pageToken) : NaN;
    if (!(parsed <= account.ordersCreated)) return { ok: false, rejection: reject("invalid_argument", "page_token: is not a token this account issued") };
    cursor = parsed;
  }
  const wanted = (order: Order) => filter === OrderStatusFilter.ALL || (filter === OrderStatusFilter.OPEN) === isOpen(order.status);
  // One more than the page from each side: whether a next page exists.
  const hot = hotOrdersBelow(account, cursor, pageSize + 1, wanted);
  const archived = filter === OrderStatusFilter.OPEN ? [] : archive.listBelow(account.id, cursor, pageSize + 1);
  const page: Order[] = [];
  let h = 0;
  let a = 0;
  while (page.length < pageSize + 1 && (h < hot.length || a < archived.length)) {
    const fromHot = hot[h];
    const fromArchive = archived[a];
    if (fromArchive === undefined || (fromHot !== undefined && fromHot.listPosition >= fromArchive.listPosition)) {
      // At one position the hot order wins: the archive holds it too if a node restarted with a
      // longer retention than the one that archived it.
      if (fromArchive !== undefined && fromHot !== undefined && fromHot.listPosition === fromArchive.listPosition) a += 1;
      page.push(fromHot as Order);
      h += 1;
    } else {
      page.push(fromArchive);
      a += 1;
    }
  }
  const more = page.length > pageSize;
  if (more) page.pop();
  const last = page[page.length - 1];
  const nextPageToken = more && last !== undefined ? String(last.listPosition) : "";
  return shown({ case: "listOrders", value: { orders: page.map(orderView), nextPageToken } });
}

function orderOf(account: Account, orderId: string): Order {
  const order = findOrder(account, orderId);
  if (order === undefined) throw new Error(`invariant: order ${orderId} missing from account ${account.id}`);
  return order;
}

function positionsOf(node: ParseContext, account: Account) {
  return [...account.positions.values()].filter((p) => p.qty > 0n).map((p) => positionView(p, node.venue.quote(p.symbol)?.last));
}

function lastPrice(node: ParseContext) {
  return (symbol: string) => node.venue.quote(symbol)?.last;
}
