import { describe, expect, test } from "bun:test";
import { isOpen, ORDER_STATUSES as ALL_STATUSES, TERMINAL_STATUSES } from "../../src/core/order.ts";
import { priceProblem } from "../../src/core/price-rules.ts";


describe("order status", () => {
  test("isOpen is false exactly for the terminal statuses", () => {
    for (const status of ALL_STATUSES) expect(isOpen(status)).toBe(!TERMINAL_STATUSES.has(status));
    expect(ALL_STATUSES.filter((status) => !isOpen(status)).sort()).toEqual([...TERMINAL_STATUSES].sort());
  });
});

describe("price tick", () => {
  const SUB_PENNY = "sub-penny increment does not fulfill minimum pricing criteria (at most 2 decimals at or above $1.00, 4 below)";

  test("at or above $1.00 only whole cents are legal, on either side of 2^53", () => {
    const safe = BigInt(Number.MAX_SAFE_INTEGER);
    for (const price of [10_000n, 10_100n, 1_000_000n, safe - (safe % 100n), safe + 100n - (safe % 100n), 10n ** 20n]) {
      expect(priceProblem(price)).toBeNull();
    }
    for (const price of [10_001n, 10_050n, 1_000_099n, safe, safe + 1n, 10n ** 20n + 1n]) {
      expect(priceProblem(price)).toBe(SUB_PENNY);
    }
  });

  test("below $1.00 every $0.0001 is legal", () => {
    for (const price of [1n, 99n, 9_999n]) expect(priceProblem(price)).toBeNull();
  });
});
