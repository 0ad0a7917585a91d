// The soak's statistics, apart from its clock and processes so that tests can hold them to
// numbers: a window's memory as the distribution of its samples (the JS heap rises with garbage
// and falls at each full collection many times a window, so one reading per window lands
// anywhere on that sawtooth), the spread of a figure over windows, and whether a latency grows
// from window to window by more than its noise.

export interface SampleSpread {
  min: number;
  median: number;
  max: number;
}

/** Min, median (the mean of the middle two for an even count) and max of a window's samples. */
export function spreadOf(samples: readonly number[]): SampleSpread {
  if (samples.length === 0) throw new Error("spreadOf: a window with no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number };
}

/** (max − min) / min over the figures: "flat within 10%" is a spread ≤ 0.1. */
export function relativeSpread(figures: readonly number[]): number {
  if (figures.length === 0) return 0;
  const min = Math.min(...figures);
  if (!(min > 0)) throw new Error(`relativeSpread: figures must be positive, got ${figures.join(", ")}`);
  return (Math.max(...figures) - min) / min;
}

export interface Trend {
  /** The least-squares line's rise from the first window to the last, in the figures' unit. */
  rise: number;
  /** Two standard errors of that rise: the noise band the windows' scatter allows. */
  noise: number;
  /** A rise above its noise band: the figure grows over the run. */
  grows: boolean;
}

/**
 * A least-squares line through the figures in window order. The windows' scatter around it
 * gives the slope's standard error; a rise more than two standard errors above zero is growth
 * (about 95% sure it is not chance), anything else is not. Needs three windows: with two, a line
 * fits exactly and there is no scatter to judge by.
 */
export function trendOf(figures: readonly number[]): Trend {
  const n = figures.length;
  if (n < 3) throw new Error(`trendOf: needs at least 3 windows, got ${n}`);
  const meanX = (n - 1) / 2;
  const meanY = figures.reduce((sum, y) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  figures.forEach((y, x) => {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  });
  const slope = sxy / sxx;
  let residuals = 0;
  figures.forEach((y, x) => (residuals += (y - (meanY + slope * (x - meanX))) ** 2));
  const slopeError = Math.sqrt(residuals / (n - 2) / sxx);
  const rise = slope * (n - 1);
  const noise = 2 * slopeError * (n - 1);
  return { rise, noise, grows: rise > noise };
}
