// The venue's only source of randomness. Seeded so that one seed replays one market exactly:
// a failing test or a dev session can be reproduced from its seed alone.

/** Uniform numbers in [0, 1) from mulberry32: tiny, fast and good enough for a market simulation. */
export function seededRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) throw new Error(`seededRandom: seed must be a safe integer, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [min, max], both inclusive. */
export function randomIntegerBetween(random: () => number, min: number, max: number): number {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
    throw new Error(`randomIntegerBetween: needs integers min <= max, got ${min}..${max}`);
  }
  return min + Math.floor(random() * (max - min + 1));
}
