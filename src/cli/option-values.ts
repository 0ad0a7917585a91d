// Checks of option values at the command line: the shape only ("a whole number"), so that a
// typo is told at once, naming the option and what it expects. The rules (positive, sub-penny,
// buying power) stay the server's, which names the field the same way.
import { CASH_DECIMALS, parseDecimal } from "../core/money.ts";
import { UsageError } from "./usage-error.ts";

/** Longer values are cut in messages: a pasted blob must not flood the terminal. */
const SHOWN_VALUE_CHARS_MAX = 40;
const PORT_MAX = 65_535;
/** Amounts of cash are deposited in cents, as the server takes them. */
const CASH_AMOUNT_DECIMALS = 2;

export function shown(text: string): string {
  return `'${text.length > SHOWN_VALUE_CHARS_MAX ? `${text.slice(0, SHOWN_VALUE_CHARS_MAX)}…` : text}'`;
}

function expected(flag: string, what: string, text: string): UsageError {
  return new UsageError(`--${flag}: expected ${what}, got ${shown(text)}`);
}

/** Whole shares ("10"); the text is passed on as given. */
export function wholeShares(flag: string, text: string): string {
  if (!parseDecimal(text, 0, 0).ok) throw expected(flag, "a whole number of shares like 10", text);
  return text;
}

/** A price in dollars ("189.25", at most four decimals). */
export function dollarPrice(flag: string, text: string): string {
  if (!parseDecimal(text, CASH_DECIMALS, CASH_DECIMALS).ok) throw expected(flag, "a price in dollars like 189.25", text);
  return text;
}

/** An amount of cash in dollars ("1000.00", at most two decimals). */
export function cashAmount(flag: string, text: string): string {
  if (!parseDecimal(text, CASH_DECIMALS, CASH_AMOUNT_DECIMALS).ok) throw expected(flag, "an amount in dollars like 1000.00", text);
  return text;
}

/** A whole number from min up (a page size, a broker count). */
export function wholeNumber(flag: string, text: string, min: number, example: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw expected(flag, `a whole number${min > 0 ? ` from ${min}` : ""} like ${example}`, text);
  }
  return value;
}

export function port(flag: string, text: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value > PORT_MAX) throw expected(flag, `a port number from 0 to ${PORT_MAX}`, text);
  return value;
}

/** One of a table's keys ("buy", "limit"), as its value. */
export function choice<T>(flag: string, text: string, table: Readonly<Record<string, T>>): T {
  const value = Object.hasOwn(table, text) ? table[text] : undefined;
  if (value === undefined) throw expected(flag, `one of ${Object.keys(table).join(", ")}`, text);
  return value;
}

/** A server address: http(s)://host:port. */
export function serverUrl(flag: string, text: string): string {
  const problem = serverUrlProblem(text);
  if (problem !== null) throw expected(flag, problem, text);
  return text;
}

/** The same check for the OMS_SERVER variable, named as such, pointing at the command's help. */
export function serverUrlFromEnv(name: string, text: string, command: string): string {
  const problem = serverUrlProblem(text);
  if (problem !== null) throw new UsageError(`${name}: expected ${problem}, got ${shown(text)}`, command);
  return text;
}

function serverUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "a URL like http://127.0.0.1:8080";
  }
  return url.protocol === "http:" || url.protocol === "https:" ? null : "an http:// or https:// URL like http://127.0.0.1:8080";
}

/** An API key as oms dev and `oms admin issue-key` print it: ID:SECRET. */
export function apiKey(flag: string, text: string): string {
  if (!API_KEY_SHAPE.test(text)) throw expected(flag, "ID:SECRET, as oms dev or oms admin issue-key printed it", text.replace(/:.*/, ":…"));
  return text;
}

const API_KEY_SHAPE = /^[^:\s]+:\S+$/;
