// The e2e level's search for the throughput ceiling between the last rate of its ladder that
// was kept up with and the first that was not: where it probes, and when it stops.
import { expect, test } from "bun:test";
import { nextCeilingProbe, searchCeiling, type CeilingSearch } from "../../bench/lib/ceiling-search.ts";

const SEARCH: CeilingSearch = { resolutionShare: 0.05, probesMax: 3, stepPerSec: 125 };

test("probes halfway across the bracket, on a multiple of the step", () => {
  expect(nextCeilingProbe({ sustainedPerSec: 10_000, notSustainedPerSec: 12_500 }, SEARCH)).toBe(11_250);
  // 10,312.5 rounds to 10,375 (a multiple of 125), still inside the bracket.
  expect(nextCeilingProbe({ sustainedPerSec: 10_000, notSustainedPerSec: 10_625 }, SEARCH)).toBe(10_375);
});

test("stops when the bracket is as narrow as the resolution, or has no step inside it", () => {
  expect(nextCeilingProbe({ sustainedPerSec: 10_000, notSustainedPerSec: 10_500 }, SEARCH)).toBeNull();
  expect(nextCeilingProbe({ sustainedPerSec: 1_000, notSustainedPerSec: 1_100 }, { ...SEARCH, resolutionShare: 0, stepPerSec: 250 })).toBeNull();
});

test("bisects towards the ceiling: kept up raises the lower end, not kept up lowers the upper", async () => {
  // A system that keeps up with anything up to 10,900/s.
  const probed: number[] = [];
  const bracket = await searchCeiling({ sustainedPerSec: 10_000, notSustainedPerSec: 12_500 }, SEARCH, async (rate) => {
    probed.push(rate);
    return rate <= 10_900;
  });
  expect(probed).toEqual([11_250, 10_625, 11_000]);
  expect(bracket).toEqual({ sustainedPerSec: 10_625, notSustainedPerSec: 11_000 });
});

test("runs at most probesMax probes, however wide the bracket", async () => {
  let probes = 0;
  const bracket = await searchCeiling({ sustainedPerSec: 500, notSustainedPerSec: 100_000 }, SEARCH, async () => {
    probes += 1;
    return true;
  });
  expect(probes).toBe(3);
  expect(bracket.notSustainedPerSec).toBe(100_000);
  expect(bracket.sustainedPerSec).toBeGreaterThan(80_000);
});

test("a bracket already narrow enough runs nothing", async () => {
  const bracket = { sustainedPerSec: 10_000, notSustainedPerSec: 10_250 };
  expect(await searchCeiling(bracket, SEARCH, () => Promise.reject(new Error("no probe expected")))).toEqual(bracket);
});
