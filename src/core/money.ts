// Exact decimal arithmetic for money, prices and quantities. Every amount inside the OMS is
// a bigint; decimal strings exist only at the API edge.

/** Dollars are held as integer units of $0.0001: four decimals cover every legal price
 * (sub-dollar prices may carry four) and qty × price of whole shares stays exact. */
export const CASH_DECIMALS = 4;
export const CASH_SCALE = 10n ** BigInt(CASH_DECIMALS);

/** Cash, prices and per-share amounts, in units of 1/CASH_SCALE dollar. */
export type Cash = bigint;
export type Price = bigint;
/** Whole shares. */
export type Qty = bigint;

export type ParsedDecimal = { ok: true; value: bigint } | { ok: false; problem: string };

const DECIMAL = /^(\d{1,18})(?:\.(\d{1,18}))?$/;

/**
 * Parses a plain non-negative decimal string ("10", "189.25") into an integer scaled by
 * 10^scaleDecimals. Refuses signs, exponents, blanks and more decimals than maxDecimals:
 * an amount is never rounded silently.
 */
export function parseDecimal(text: string, scaleDecimals: number, maxDecimals: number): ParsedDecimal {
  const match = DECIMAL.exec(text);
  if (match === null) {
    if (text === "") return { ok: false, problem: "is required" };
    return { ok: false, problem: `must be a plain decimal number like "10" or "189.25", got "${truncate(text)}"` };
  }
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > maxDecimals) {
    return { ok: false, problem: `has more than ${maxDecimals} decimals: "${truncate(text)}"` };
  }
  const scale = 10n ** BigInt(scaleDecimals);
  const value = BigInt(whole) * scale + BigInt(fraction.padEnd(scaleDecimals, "0") || "0");
  return { ok: true, value };
}

/** Formats a scaled integer as the shortest exact decimal string ("10", "189.25", "-3.5"). */
export function formatDecimal(value: bigint, scaleDecimals: number): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const scale = 10n ** BigInt(scaleDecimals);
  const whole = magnitude / scale;
  const fraction = (magnitude % scale).toString().padStart(scaleDecimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : "." + fraction}`;
}

export function formatCash(value: Cash): string {
  return formatDecimal(value, CASH_DECIMALS);
}

/** Divides and rounds half away from zero; for averages that are shown, never stored. */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new Error("divideRounded: division by zero");
  const negative = (numerator < 0n) !== (denominator < 0n);
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const rounded = (n * 2n + d) / (d * 2n);
  return negative ? -rounded : rounded;
}

/** Ceiling division of non-negative integers. */
export function divideCeil(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new Error("divideCeil: needs numerator >= 0 and denominator > 0");
  return (numerator + denominator - 1n) / denominator;
}

function truncate(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "…" : text;
}
