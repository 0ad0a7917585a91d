// Where a system's throughput ceiling lies between the highest rate of a ladder that it kept up
// with and the first it did not: a few bisection probes, each an open-loop run of its own.
// The probes assume that a rate kept up with means every lower one would be too; on a noisy
// machine that is not quite so, which is why the search is short and its bracket reported.

export interface CeilingSearch {
  /** The search stops once the bracket is this narrow, as a share of its lower end. */
  resolutionShare: number;
  /** And after this many probes whatever the bracket: each costs a run's time. */
  probesMax: number;
  /** Probed rates are multiples of this, so that reports read 11,250/s rather than 11,247/s. */
  stepPerSec: number;
}

/** Rates that bracket the ceiling: `sustainedPerSec` was kept up with, `notSustainedPerSec` was not. */
export interface CeilingBracket {
  sustainedPerSec: number;
  notSustainedPerSec: number;
}

/** The rate to probe next, halfway across the bracket, or null when it is narrow enough. */
export function nextCeilingProbe(bracket: CeilingBracket, search: CeilingSearch): number | null {
  const { sustainedPerSec: low, notSustainedPerSec: high } = bracket;
  if (high - low <= search.resolutionShare * low) return null;
  const middle = Math.round((low + high) / 2 / search.stepPerSec) * search.stepPerSec;
  return middle > low && middle < high ? middle : null;
}

/**
 * Bisects the bracket: a probe kept up with raises its lower end, one that was not lowers its
 * upper end. Returns the bracket it ends with.
 */
export async function searchCeiling(
  bracket: CeilingBracket,
  search: CeilingSearch,
  probe: (ratePerSec: number) => Promise<boolean>,
): Promise<CeilingBracket> {
  let current = bracket;
  for (let probes = 0; probes < search.probesMax; probes++) {
    const ratePerSec = nextCeilingProbe(current, search);
    if (ratePerSec === null) break;
    current = (await probe(ratePerSec)) ? { ...current, sustainedPerSec: ratePerSec } : { ...current, notSustainedPerSec: ratePerSec };
  }
  return current;
}
