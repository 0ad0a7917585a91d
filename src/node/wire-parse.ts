// Turning wire requests into core inputs. Every problem becomes a Rejection naming the field;
// nothing here throws on client input.
import { accountIdProblem } from "../core/account-id.ts";
import type { Cash, Price, Qty } from "../core/money.ts";
import { CASH_DECIMALS, parseDecimal } from "../core/money.ts";
import type { TradingState as CoreTradingState } from "../core/account.ts";
import type { OrderType as CoreType, Side as CoreSide, TimeInForce as CoreTif } from "../core/order.ts";
import { reject, type Rejection } from "../core/rejection.ts";
import { OrderType, Side, TimeInForce, TradingState } from "../gen/oms/v1/trading_pb.ts";

/** Alpaca allows 128 characters (the 2022 docs said 48; the current spec says 128). */
export const CLIENT_ORDER_ID_LENGTH_MAX = 128;
const CLIENT_ORDER_ID_PATTERN = /^[\x21-\x7e]+$/;
/** A bound on a single deposit or withdrawal, so that no sum of them can approach int64 in the log. */
const TRANSFER_MAX: Cash = 1_000_000_000n * 10_000n;

export type Parsed<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const invalid = <T>(message: string): Parsed<T> => ({ ok: false, rejection: reject("invalid_argument", message) });

export function parseAccountId(text: string): Parsed<string> {
  const problem = accountIdProblem(text);
  return problem === null ? ok(text) : { ok: false, rejection: problem };
}

export function parseClientOrderId(text: string): Parsed<string | null> {
  if (text === "") return ok(null);
  if (text.length > CLIENT_ORDER_ID_LENGTH_MAX) return invalid(`client_order_id: must be at most ${CLIENT_ORDER_ID_LENGTH_MAX} characters`);
  if (!CLIENT_ORDER_ID_PATTERN.test(text)) return invalid("client_order_id: must be printable ASCII without spaces");
  return ok(text);
}

export function parseQty(field: string, text: string): Parsed<Qty> {
  const parsed = parseDecimal(text, 0, 0);
  if (parsed.ok) return ok(parsed.value);
  if (/^\d+\.\d+$/.test(text)) return invalid(`${field}: must be whole shares; fractional quantities are not supported`);
  if (text === "") return invalid(`${field}: is required`);
  return invalid(`${field}: must be a whole number of shares like "10", got "${text.slice(0, 40)}"`);
}

export function parseOptionalQty(field: string, text: string): Parsed<Qty | null> {
  return text === "" ? ok(null) : parseQty(field, text);
}

/** Prices are read with up to 4 decimals; the core then applies the sub-penny rule. */
export function parsePrice(field: string, text: string): Parsed<Price | null> {
  if (text === "") return ok(null);
  const parsed = parseDecimal(text, CASH_DECIMALS, CASH_DECIMALS);
  if (!parsed.ok) return invalid(`${field}: ${parsed.problem}`);
  return ok(parsed.value);
}

/** A deposit's or withdrawal's amount: positive whole cents, as Alpaca's transfers are. */
export function parseTransferAmount(text: string, transfer: "deposit" | "withdrawal"): Parsed<Cash> {
  const parsed = parseDecimal(text, CASH_DECIMALS, 2);
  if (!parsed.ok) return invalid(`amount: ${parsed.problem}`);
  if (parsed.value <= 0n) return invalid("amount: must be positive");
  if (parsed.value > TRANSFER_MAX) return invalid(`amount: must be at most 1000000000 per ${transfer}`);
  return ok(parsed.value);
}

const TRADING_STATES = new Map<TradingState, CoreTradingState>([
  [TradingState.ACTIVE, "active"],
  [TradingState.TRADING_BLOCKED, "trading_blocked"],
  [TradingState.ACCOUNT_BLOCKED, "account_blocked"],
]);

export function parseTradingState(value: TradingState): Parsed<CoreTradingState> {
  const state = TRADING_STATES.get(value);
  if (state !== undefined) return ok(state);
  return invalid("trading_state: must be TRADING_STATE_ACTIVE, _TRADING_BLOCKED or _ACCOUNT_BLOCKED");
}

export function parseSymbol(text: string, known: ReadonlySet<string>): Parsed<string> {
  if (text === "") return invalid("symbol: is required");
  if (!known.has(text)) return invalid(`symbol: unknown symbol "${text.slice(0, 16)}"`);
  return ok(text);
}

export function parseSide(value: Side): Parsed<CoreSide> {
  if (value === Side.BUY) return ok("buy");
  if (value === Side.SELL) return ok("sell");
  return invalid(`side: must be SIDE_BUY or SIDE_SELL`);
}

const TYPES = new Map<OrderType, CoreType>([
  [OrderType.MARKET, "market"],
  [OrderType.LIMIT, "limit"],
  [OrderType.STOP, "stop"],
  [OrderType.STOP_LIMIT, "stop_limit"],
]);

export function parseOrderType(value: OrderType): Parsed<CoreType> {
  const type = TYPES.get(value);
  return type === undefined ? invalid("type: must be ORDER_TYPE_MARKET, _LIMIT, _STOP or _STOP_LIMIT") : ok(type);
}

const TIFS = new Map<TimeInForce, CoreTif>([
  [TimeInForce.DAY, "day"],
  [TimeInForce.GTC, "gtc"],
  [TimeInForce.IOC, "ioc"],
  [TimeInForce.FOK, "fok"],
]);

export function parseTimeInForce(value: TimeInForce): Parsed<CoreTif> {
  const tif = TIFS.get(value);
  return tif === undefined ? invalid("time_in_force: must be TIME_IN_FORCE_DAY, _GTC, _IOC or _FOK") : ok(tif);
}

/** For replace, where "unspecified" keeps the old value. */
export function parseOptionalTimeInForce(value: TimeInForce): Parsed<CoreTif | null> {
  return value === TimeInForce.UNSPECIFIED ? ok(null) : parseTimeInForce(value);
}
