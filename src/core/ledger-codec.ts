// A shard's ledger as bytes, for snapshots. Recovery loads a snapshot and replays the log
// after it, so decoding must rebuild exactly the ledger that was encoded: every bigint, every
// null, and every Map and array in its insertion order (listing and paging depend on it). Only
// the hot ledger is written: closed orders already evicted are in the archive, so a snapshot's
// size follows the open orders, not the history. (Holes in the hot list and spent slots of the
// eviction queue are not state: a decoded ledger has none, and encodes to the same bytes.)
//
// The format is JSON written field by field in a fixed order, so the same ledger always
// encodes to the same bytes whatever order its objects' properties were created in. An order is
// an array of its fields in ORDER_FIELDS order rather than an object (half the bytes and a third
// of the encoding time, which a node pays on every snapshot); version 1 and 2 snapshots, with
// orders as objects, still decode. An account's hot orders are listed in creation order and nothing
// derivable from them is written (version 4): not the
// creation-order id list, nor the client order id index (see orderIdsByDistinctClientOrderId);
// the decoder rebuilds both, checking that an older snapshot's copies agree. Nor are an order's
// five closing times (filledAtMs and the like): closedAtMs() derives them from its status and
// last update, and an older snapshot's are checked to agree. Bigints
// are decimal strings; the decoder knows from the field which ones they are and checks every
// field's type, so a damaged snapshot stops recovery with the path of what is wrong instead of
// seeding a wrong ledger. Decoding builds each object as a typed literal: a field added to
// Account, Order or Position fails to compile here until the codec carries it.
import { fileOrder, findOrder, queueClosedOrder, TRADING_STATES, type Account, type Position, type TradingState } from "./account.ts";
import { closedAtMs, isOpen, ORDER_STATUSES, type ClosedStatus, type Order, type OrderStatus, type OrderType, type Side, type TimeInForce } from "./order.ts";
import { hotOrderCount, hotOrderSlots } from "./order-list.ts";
import type { Ledger } from "./state-machine.ts";

const LEDGER_FORMAT = "oms.ledger";
/** Bumped whenever the layout changes; a decoder refuses versions it does not know. */
export const LEDGER_FORMAT_VERSION = 6;
/**
 * Versions 1 and 2 wrote each order as an object (1 also a submitFingerprints list per account,
 * now ignored: idempotency compares the earlier order's terms); version 3 writes an order as a
 * tuple in V3_ORDER_FIELDS order. Versions 1 to 3 also wrote orderIds (the creation order),
 * orderIdsByClientOrderId (an entry for every order) and each order's closing times; version 4
 * lists the orders in creation order as tuples and writes none of them. Version 5 adds each
 * account's tradingState (older snapshots predate it: their accounts are active). Version 6
 * lists only the hot orders (closed orders are evicted, see evictClosedOrders), each with its
 * listPosition, and per account ordersCreated and closedOrder (the list positions of the hot
 * closed orders in the order they closed: the eviction queue, which creation order cannot
 * give back). Versions 1 to 5 held every order ever created: list position is the place in
 * the list, and the eviction queue is the closed orders by closing time.
 */
const READABLE_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6];

/** An order's fields in the order a version 6 snapshot lists them. */
const ORDER_FIELDS = [
  "id",
  "clientOrderId",
  "symbol",
  "side",
  "type",
  "timeInForce",
  "qty",
  "limitPrice",
  "stopPrice",
  "collarPrice",
  "replaces",
  "accountId",
  "listPosition",
  "status",
  "filledQty",
  "filledNotional",
  "holdCash",
  "holdQty",
  "lastExecutionSeq",
  "pendingReplace",
  "replacedBy",
  "rejectReason",
  "createdAtMs",
  "updatedAtMs",
] as const satisfies readonly (keyof Order)[];
/** The closing times versions 1 to 3 wrote after updatedAtMs, each with the status it belongs to. */
const OLD_CLOSING_TIMES = [
  ["filledAtMs", "filled"],
  ["canceledAtMs", "canceled"],
  ["expiredAtMs", "expired"],
  ["replacedAtMs", "replaced"],
  ["rejectedAtMs", "rejected"],
] as const satisfies readonly (readonly [string, ClosedStatus])[];
/** A version 4 or 5 snapshot's order tuple: no list position. */
const V4_ORDER_FIELDS: readonly string[] = ORDER_FIELDS.filter((field) => field !== "listPosition");
/** A version 3 snapshot's order tuple. */
const V3_ORDER_FIELDS: readonly string[] = [...V4_ORDER_FIELDS, ...OLD_CLOSING_TIMES.map(([field]) => field)];
// A field added to Order fails to compile here until ORDER_FIELDS (and orderToTuple) carry it.
const ORDER_FIELDS_COMPLETE: [Exclude<keyof Order, (typeof ORDER_FIELDS)[number]>] extends [never] ? true : false = true;

const SIDES: ReadonlySet<Side> = new Set(["buy", "sell"]);
const ORDER_TYPES: ReadonlySet<OrderType> = new Set(["market", "limit", "stop", "stop_limit"]);
const TIMES_IN_FORCE: ReadonlySet<TimeInForce> = new Set(["day", "gtc", "ioc", "fok"]);
const KNOWN_STATUSES: ReadonlySet<OrderStatus> = new Set(ORDER_STATUSES);
const KNOWN_TRADING_STATES: ReadonlySet<TradingState> = new Set(TRADING_STATES);

export function encodeLedger(ledger: Ledger): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [accountId, account] of ledger) {
    if (accountId !== account.id) fail(`ledger: account ${account.id} is filed under ${accountId}`);
    parts.push(encodeAccount(account));
  }
  return joinAccounts(parts);
}

const utf8 = new TextEncoder();
const DOCUMENT_HEAD = utf8.encode(JSON.stringify({ format: LEDGER_FORMAT, version: LEDGER_FORMAT_VERSION }).slice(0, -1) + ',"accounts":[');
const DOCUMENT_TAIL = utf8.encode("]}");
const COMMA = utf8.encode(",");

/**
 * One account's part of a ledger snapshot. A node snapshots a large shard account by account
 * between commands (an account about to change is encoded first, as it was), then joins the
 * parts: the bytes are the same as encodeLedger's for the ledger as it was when it began.
 */
export function encodeAccount(account: Account): Uint8Array {
  return utf8.encode(JSON.stringify(accountToJson(account)));
}

/** The snapshot of the accounts whose parts these are, in this order. */
export function joinAccounts(parts: readonly Uint8Array[]): Uint8Array {
  const join = new AccountsJoin(parts);
  join.step(Number.POSITIVE_INFINITY);
  return join.result();
}

/**
 * joinAccounts a slice at a time: the same bytes, for a node that must not stop for one long
 * copy of a large shard (copying a shard's tens of megabytes at once was a stall of many ms).
 */
export class AccountsJoin {
  private readonly bytes: Uint8Array;
  private at = 0;
  private next = 0;

  constructor(private readonly parts: readonly Uint8Array[]) {
    let length = DOCUMENT_HEAD.length + DOCUMENT_TAIL.length + Math.max(parts.length - 1, 0);
    for (const part of parts) length += part.length;
    this.bytes = new Uint8Array(length);
    this.put(DOCUMENT_HEAD);
  }

  /** Copies parts until at least bytesMax bytes have been copied in this step; true once all are in. */
  step(bytesMax: number): boolean {
    const until = this.at + bytesMax;
    while (this.next < this.parts.length && this.at < until) {
      if (this.next > 0) this.put(COMMA);
      this.put(this.parts[this.next++] as Uint8Array);
    }
    if (this.next < this.parts.length) return false;
    if (this.at < this.bytes.length) this.put(DOCUMENT_TAIL);
    check(this.at === this.bytes.length, `ledger: joined ${this.at} bytes of ${this.bytes.length}`);
    return true;
  }

  /** The joined snapshot; only once step() has returned true. */
  result(): Uint8Array {
    check(this.at === this.bytes.length && this.next === this.parts.length, "ledger: a join's result was taken before every part was in");
    return this.bytes;
  }

  private put(chunk: Uint8Array): void {
    this.bytes.set(chunk, this.at);
    this.at += chunk.length;
  }
}

export function decodeLedger(bytes: Uint8Array): Ledger {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new Error(`ledger snapshot: not valid UTF-8 JSON: ${String(cause)}`, { cause });
  }
  const root = asObject(document, "ledger snapshot");
  if (root["format"] !== LEDGER_FORMAT) throw new Error(`ledger snapshot: format is not "${LEDGER_FORMAT}"`);
  const version = root["version"];
  if (typeof version !== "number" || !READABLE_VERSIONS.includes(version)) {
    throw new Error(
      `ledger snapshot: version ${String(version)} is not supported (this reader knows ${READABLE_VERSIONS.join(" and ")})`,
    );
  }
  const ledger: Ledger = new Map();
  asArray(root["accounts"], "ledger snapshot: accounts").forEach((value, index) => {
    const account = accountFromJson(value, `ledger snapshot: accounts[${index}]`, version);
    if (ledger.has(account.id)) fail(`ledger snapshot: account ${account.id} appears twice`);
    ledger.set(account.id, account);
  });
  return ledger;
}

function accountToJson(account: Account): unknown {
  const positions: unknown[] = [];
  for (const [symbol, position] of account.positions) {
    if (symbol !== position.symbol) fail(`ledger: account ${account.id}: position ${position.symbol} is filed under ${symbol}`);
    positions.push([position.symbol, String(position.qty), String(position.heldQty), String(position.costBasis)]);
  }
  const orders: unknown[] = [];
  for (const order of hotOrderSlots(account)) {
    if (order === null) continue;
    if (findOrder(account, order.id) !== order) fail(`ledger: account ${account.id}: order ${order.id} is listed but not filed under its id`);
    orders.push(orderToTuple(order));
  }
  const filed = account.orders.size;
  if (orders.length !== filed) fail(`ledger: account ${account.id}: ${filed} orders filed, ${orders.length} listed`);
  const closedOrder: number[] = [];
  for (let index = account.closedHead; index < account.closedOrders.length; index += 1) closedOrder.push((account.closedOrders[index] as Order).listPosition);
  return {
    id: account.id,
    createdAtMs: safe(account.createdAtMs, "account", account.id, "createdAtMs"),
    cash: String(account.cash),
    tradingState: account.tradingState,
    heldCash: String(account.heldCash),
    positions,
    orders,
    ordersCreated: safe(account.ordersCreated, "account", account.id, "ordersCreated"),
    closedOrder,
    eventSeq: safe(account.eventSeq, "account", account.id, "eventSeq"),
  };
}

/** The order's fields in ORDER_FIELDS order (a version 6 snapshot's order). */
function orderToTuple(order: Order): unknown[] {
  const pending = order.pendingReplace;
  return [
    order.id,
    order.clientOrderId,
    order.symbol,
    order.side,
    order.type,
    order.timeInForce,
    String(order.qty),
    nullableBigint(order.limitPrice),
    nullableBigint(order.stopPrice),
    nullableBigint(order.collarPrice),
    order.replaces,
    order.accountId,
    safe(order.listPosition, "order", order.id, "listPosition"),
    order.status,
    String(order.filledQty),
    String(order.filledNotional),
    String(order.holdCash),
    String(order.holdQty),
    safe(order.lastExecutionSeq, "order", order.id, "lastExecutionSeq"),
    pending === null ? null : [pending.newOrderId, String(pending.filledQty)],
    order.replacedBy,
    order.rejectReason,
    safe(order.createdAtMs, "order", order.id, "createdAtMs"),
    safe(order.updatedAtMs, "order", order.id, "updatedAtMs"),
  ];
}

/** One order as the text an archive keeps: its snapshot tuple, as JSON. */
export function encodeOrder(order: Order): string {
  return JSON.stringify(orderToTuple(order));
}

/** An order encodeOrder wrote; path names it in the error if the text is damaged. */
export function decodeOrder(text: string, path: string): Order {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${path}: not valid JSON: ${String(cause)}`, { cause });
  }
  return orderFromJson(orderObjectOf(value, path, ORDER_FIELDS), path);
}

/**
 * A version 3 to 6 order tuple as the version 1/2 object, so that one reader checks all: a
 * field that is wrong is named by the same path whichever version held it.
 */
function orderObjectOf(value: unknown, path: string, fields: readonly string[]): { [key: string]: unknown } {
  const tuple = asArray(value, path);
  if (tuple.length !== fields.length) fail(`${path}: must be an array of the ${fields.length} order fields, got ${tuple.length}`);
  const json: { [key: string]: unknown } = {};
  for (let index = 0; index < fields.length; index++) json[fields[index] as string] = tuple[index];
  const pending = json["pendingReplace"];
  if (pending !== null) {
    const pair = asArray(pending, `${path}.pendingReplace`);
    check(pair.length === 2, `${path}.pendingReplace: must be [newOrderId, filledQty]`);
    json["pendingReplace"] = { newOrderId: pair[0], filledQty: pair[1] };
  }
  return json;
}

function accountFromJson(value: unknown, path: string, version: number): Account {
  const json = asObject(value, path);
  const account: Account = {
    id: text(json, "id", path),
    createdAtMs: integer(json, "createdAtMs", path),
    cash: bigInteger(json, "cash", path),
    tradingState: version < 5 ? "active" : member(json, "tradingState", KNOWN_TRADING_STATES, path),
    heldCash: bigInteger(json, "heldCash", path),
    positions: new Map(),
    orders: new Map(),
    hotOrders: [],
    evictedSlots: 0,
    ordersCreated: 0,
    orderIdsByDistinctClientOrderId: new Map(),
    closedOrders: [],
    closedHead: 0,
    eventSeq: integer(json, "eventSeq", path),
  };
  asArray(json["positions"], `${path}.positions`).forEach((item, index) => {
    const position = positionFromJson(item, `${path}.positions[${index}]`);
    if (account.positions.has(position.symbol)) fail(`${path}: position ${position.symbol} appears twice`);
    account.positions.set(position.symbol, position);
  });
  const orders = asArray(json["orders"], `${path}.orders`).map((item, index) => {
    const where = `${path}.orders[${index}]`;
    const json = version < 3 ? asObject(item, where) : orderObjectOf(item, where, orderFieldsOf(version));
    // Set again below, in creation order: a version 3 or older lists orders in another order.
    if (version < 6) json["listPosition"] = index;
    const order = orderFromJson(json, where);
    if (version < 4) checkClosingTimes(order, json, where);
    return order;
  });
  const listed = version < 4 ? inCreationOrder(orders, textList(json, "orderIds", path), path) : orders;
  // Before version 6 a snapshot held every order, so an order's place in creation order is its position.
  if (version < 6) listed.forEach((order, index) => (order.listPosition = index));
  for (const order of listed) {
    if (findOrder(account, order.id) !== undefined) fail(`${path}: order ${order.id} appears twice`);
    if (order.listPosition < account.ordersCreated) fail(`${path}: order ${order.id} at list position ${order.listPosition} is out of order`);
    // As apply files an order, so the same Maps and derived indexes come back; the positions
    // between hot orders belong to evicted ones.
    account.ordersCreated = order.listPosition;
    fileOrder(account, order);
  }
  if (version >= 6) {
    const created = integer(json, "ordersCreated", path);
    if (created < account.ordersCreated) fail(`${path}.ordersCreated: ${created} is below the orders listed (${account.ordersCreated})`);
    account.ordersCreated = created;
  }
  queueClosedOrders(account, version < 6 ? closedByClosingTime(listed) : closedByPosition(account, listed, json, path), path);
  if (version < 4) checkClientOrderIds(account, textMap(json, "orderIdsByClientOrderId", path), path);
  return account;
}

function orderFieldsOf(version: number): readonly string[] {
  if (version === 3) return V3_ORDER_FIELDS;
  return version === 4 || version === 5 ? V4_ORDER_FIELDS : ORDER_FIELDS;
}

/** Before version 6, the eviction queue is the closed orders by closing time (list position breaks ties). */
function closedByClosingTime(orders: readonly Order[]): Order[] {
  return orders.filter((order) => !isOpen(order.status)).sort((a, b) => a.updatedAtMs - b.updatedAtMs || a.listPosition - b.listPosition);
}

/** A version 6 account's eviction queue, as its closedOrder list of positions names it. */
function closedByPosition(account: Account, orders: readonly Order[], json: { [key: string]: unknown }, path: string): Order[] {
  const byPosition = new Map<number, Order>();
  for (const order of orders) byPosition.set(order.listPosition, order);
  return asArray(json["closedOrder"], path, "closedOrder").map((value, index) => {
    const order = byPosition.get(asInteger(value, `${path}.closedOrder[${index}]`));
    if (order === undefined) return fail(`${path}.closedOrder[${index}]: no hot order of account ${account.id} at list position ${String(value)}`);
    return order;
  });
}

/** The eviction queue must hold every hot closed order once and nothing else. */
function queueClosedOrders(account: Account, closed: readonly Order[], path: string): void {
  const seen = new Set<Order>();
  for (const order of closed) {
    if (isOpen(order.status)) fail(`${path}.closedOrder: order ${order.id} is ${order.status}, not closed`);
    if (seen.has(order)) fail(`${path}.closedOrder: order ${order.id} appears twice`);
    seen.add(order);
    queueClosedOrder(account, order);
  }
  let closedHot = 0;
  for (const order of hotOrderSlots(account)) if (order !== null && !isOpen(order.status)) closedHot += 1;
  if (closedHot !== seen.size) fail(`${path}.closedOrder: lists ${seen.size} closed orders, the account holds ${closedHot}`);
  check(hotOrderCount(account) === account.orders.size, `${path}: orders filed and listed differ`);
}

/** A version 1–3 account's orders (in the order its Map held them) in its orderIds order. */
function inCreationOrder(orders: readonly Order[], orderIds: readonly string[], path: string): Order[] {
  const byId = new Map<string, Order>();
  for (const order of orders) {
    if (byId.has(order.id)) fail(`${path}: order ${order.id} appears twice`);
    byId.set(order.id, order);
  }
  if (orderIds.length !== byId.size) fail(`${path}.orderIds: lists ${orderIds.length} orders, the account has ${byId.size}`);
  return orderIds.map((orderId, index) => {
    const order = byId.get(orderId);
    if (order === undefined) fail(`${path}.orderIds[${index}]: order ${orderId} is not among the account's orders`);
    byId.delete(orderId);
    return order;
  });
}

/**
 * A version 1–3 client order id index held an entry for every order; version 4 rebuilds only
 * the entries whose client order id differs from the order id. Each old entry must name an
 * order that carries that client order id, so the rebuilt index answers every lookup the same.
 */
function checkClientOrderIds(account: Account, written: ReadonlyMap<string, string>, path: string): void {
  for (const [clientOrderId, orderId] of written) {
    if (findOrder(account, orderId)?.clientOrderId !== clientOrderId) {
      fail(`${path}.orderIdsByClientOrderId: ${clientOrderId} names order ${orderId}, which does not carry that client order id`);
    }
  }
  let distinct = 0;
  for (const [clientOrderId, orderId] of written) if (clientOrderId !== orderId) distinct += 1;
  if (distinct !== account.orderIdsByDistinctClientOrderId.size) {
    fail(`${path}.orderIdsByClientOrderId: ${distinct} entries differ from their order id, the orders carry ${account.orderIdsByDistinctClientOrderId.size}`);
  }
}

function positionFromJson(value: unknown, path: string): Position {
  const tuple = asArray(value, path);
  check(tuple.length === 4, `${path}: must be [symbol, qty, heldQty, costBasis]`);
  return {
    symbol: asText(tuple[0], path, "symbol"),
    qty: asBigInteger(tuple[1], path, "qty"),
    heldQty: asBigInteger(tuple[2], path, "heldQty"),
    costBasis: asBigInteger(tuple[3], path, "costBasis"),
  };
}

function orderFromJson(json: { [key: string]: unknown }, path: string): Order {
  return {
    id: text(json, "id", path),
    clientOrderId: text(json, "clientOrderId", path),
    symbol: text(json, "symbol", path),
    side: member(json, "side", SIDES, path),
    type: member(json, "type", ORDER_TYPES, path),
    timeInForce: member(json, "timeInForce", TIMES_IN_FORCE, path),
    qty: bigInteger(json, "qty", path),
    limitPrice: nullable(json, "limitPrice", path, asBigInteger),
    stopPrice: nullable(json, "stopPrice", path, asBigInteger),
    collarPrice: nullable(json, "collarPrice", path, asBigInteger),
    replaces: nullable(json, "replaces", path, asText),
    accountId: text(json, "accountId", path),
    listPosition: integer(json, "listPosition", path),
    status: member(json, "status", KNOWN_STATUSES, path),
    filledQty: bigInteger(json, "filledQty", path),
    filledNotional: bigInteger(json, "filledNotional", path),
    holdCash: bigInteger(json, "holdCash", path),
    holdQty: bigInteger(json, "holdQty", path),
    lastExecutionSeq: integer(json, "lastExecutionSeq", path),
    pendingReplace: nullable(json, "pendingReplace", path, pendingReplaceFromJson),
    replacedBy: nullable(json, "replacedBy", path, asText),
    rejectReason: text(json, "rejectReason", path),
    createdAtMs: integer(json, "createdAtMs", path),
    updatedAtMs: integer(json, "updatedAtMs", path),
  };
}

/**
 * A version 1–3 order's closing times must be what closedAtMs() now derives (its last update
 * for the status it closed with, null for the others), or the API would show other times.
 */
function checkClosingTimes(order: Order, json: { [key: string]: unknown }, path: string): void {
  for (const [field, status] of OLD_CLOSING_TIMES) {
    const written = nullable(json, field, path, asInteger);
    if (written !== closedAtMs(order, status)) {
      fail(`${path}.${field}: ${String(written)} is not the order's closing time (${order.status}, last updated at ${order.updatedAtMs})`);
    }
  }
}

function pendingReplaceFromJson(value: unknown, path: string, key: string): { newOrderId: string; filledQty: bigint } {
  const json = asObject(value, path, key);
  const at = `${path}.${key}`;
  return { newOrderId: text(json, "newOrderId", at), filledQty: bigInteger(json, "filledQty", at) };
}

function textList(json: { [key: string]: unknown }, key: string, path: string): string[] {
  const list = asArray(json[key], path, key);
  for (let index = 0; index < list.length; index++) {
    if (typeof list[index] !== "string") fail(`${path}.${key}[${index}]: must be a string`);
  }
  return list as string[];
}

function textMap(json: { [key: string]: unknown }, key: string, path: string): Map<string, string> {
  const map = new Map<string, string>();
  const entries = asArray(json[key], path, key);
  for (let index = 0; index < entries.length; index++) {
    const pair: unknown = entries[index];
    if (!Array.isArray(pair)) return fail(`${path}.${key}[${index}]: must be an array`);
    if (pair.length !== 2) return fail(`${path}.${key}[${index}]: must be [key, value]`);
    const [name, value]: unknown[] = pair;
    if (typeof name !== "string" || typeof value !== "string") return fail(`${path}.${key}[${index}]: must be a string`);
    if (map.has(name)) return fail(`${path}.${key}[${index}]: key ${name} appears twice`);
    map.set(name, value);
  }
  return map;
}

// Encoding checks: JSON would write a non-integer or unsafe number without complaint and the
// snapshot would then not decode, or decode to a different value.

// The message is built only on failure: these run for every field of every order a snapshot holds.
function safe(value: number, kind: "account" | "order", id: string, field: string): number {
  if (!Number.isSafeInteger(value)) fail(`ledger: ${kind} ${id} ${field} ${value} is not a safe integer`);
  return value;
}

function nullableBigint(value: bigint | null): string | null {
  return value === null ? null : String(value);
}

// Decoding: each reader names the path of what it refuses. A path is built only when a field
// is refused (as path.key): a snapshot holds tens of fields for each of its many orders.

const BIG_INTEGER = /^-?(0|[1-9][0-9]*)$/;

function where(path: string, key: string | undefined): string {
  return key === undefined ? path : `${path}.${key}`;
}

function asObject(value: unknown, path: string, key?: string): { [key: string]: unknown } {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as { [key: string]: unknown };
  return fail(`${where(path, key)}: must be an object`);
}

function asArray(value: unknown, path: string, key?: string): unknown[] {
  if (Array.isArray(value)) return value as unknown[];
  return fail(`${where(path, key)}: must be an array`);
}

function asText(value: unknown, path: string, key?: string): string {
  if (typeof value === "string") return value;
  return fail(`${where(path, key)}: must be a string`);
}

function asBigInteger(value: unknown, path: string, key?: string): bigint {
  if (typeof value === "string" && BIG_INTEGER.test(value)) return BigInt(value);
  return fail(`${where(path, key)}: must be a decimal integer string`);
}

function asInteger(value: unknown, path: string, key?: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return fail(`${where(path, key)}: must be a safe integer`);
}

function text(json: { [key: string]: unknown }, key: string, path: string): string {
  return asText(json[key], path, key);
}

function bigInteger(json: { [key: string]: unknown }, key: string, path: string): bigint {
  return asBigInteger(json[key], path, key);
}

function integer(json: { [key: string]: unknown }, key: string, path: string): number {
  return asInteger(json[key], path, key);
}

function member<T extends string>(json: { [key: string]: unknown }, key: string, allowed: ReadonlySet<T>, path: string): T {
  const value = json[key];
  if (allowed.has(value as T)) return value as T;
  return fail(`${path}.${key}: ${JSON.stringify(value)} is not one of ${[...allowed].join(", ")}`);
}

/** Null stays null; a missing field is an error, not a null. */
function nullable<T>(
  json: { [key: string]: unknown },
  key: string,
  path: string,
  read: (value: unknown, path: string, key: string) => T,
): T | null {
  const value = json[key];
  if (value === undefined) fail(`${path}.${key}: is missing`);
  return value === null ? null : read(value, path, key);
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

check(ORDER_FIELDS_COMPLETE, "ledger codec: ORDER_FIELDS lacks a field of Order");

function fail(message: string): never {
  throw new Error(message);
}
