import { describe, expect, test } from "bun:test";
import { randomIntegerBetween, seededRandom } from "../../src/venue/seeded-random.ts";

function draws(seed: number, count: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => random());
}

describe("seededRandom", () => {
  test("one seed replays the same sequence", () => {
    expect(draws(42, 1000)).toEqual(draws(42, 1000));
  });

  test("different seeds give different sequences", () => {
    expect(draws(42, 20)).not.toEqual(draws(43, 20));
  });

  test("draws lie in [0, 1) and spread over the range", () => {
    const values = draws(9, 10_000);
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    const lowerHalf = values.filter((value) => value < 0.5).length;
    expect(lowerHalf).toBeGreaterThan(4_500);
    expect(lowerHalf).toBeLessThan(5_500);
  });

  test("refuses a seed that is not a safe integer", () => {
    expect(() => seededRandom(1.5)).toThrow(/safe integer/);
  });
});

describe("randomIntegerBetween", () => {
  test("stays within both bounds and reaches each of them", () => {
    const random = seededRandom(3);
    const seen = new Set<number>();
    for (let draw = 0; draw < 1000; draw++) seen.add(randomIntegerBetween(random, -1, 1));
    expect([...seen].sort()).toEqual([-1, 0, 1]);
  });
});
