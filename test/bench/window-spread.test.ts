import { describe, expect, test } from "bun:test";
import { relativeSpread, spreadOf, trendOf } from "../../bench/lib/window-spread.ts";

describe("spreadOf", () => {
  test("a sawtooth's median sits between its troughs and peaks, whatever the order of the samples", () => {
    expect(spreadOf([300, 500, 310, 480, 320])).toEqual({ min: 300, median: 320, max: 500 });
    expect(spreadOf([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4 });
  });

  test("a window with no samples is a bug in the sampler, not a zero", () => {
    expect(() => spreadOf([])).toThrow("no samples");
  });
});

describe("relativeSpread", () => {
  test("is (max − min) / min: the last run's 244…276 MiB was 13.1%", () => {
    expect(relativeSpread([256, 276, 249, 252, 257, 250, 250, 244, 271])).toBeCloseTo(32 / 244, 6);
    expect(relativeSpread([250, 250])).toBe(0);
  });
});

describe("trendOf", () => {
  test("a steady rise well above the scatter grows", () => {
    const trend = trendOf([1000, 1110, 1190, 1310, 1400, 1500]);
    expect(trend.rise).toBeCloseTo(500, -1);
    expect(trend.grows).toBe(true);
  });

  test("scatter with no direction does not grow, and neither does a fall", () => {
    expect(trendOf([1500, 1200, 1600, 1100, 1550, 1250]).grows).toBe(false);
    expect(trendOf([18207, 15287, 16815, 15127, 14215, 14367, 14831, 13639, 13943, 13911]).grows).toBe(false);
  });

  test("a last window above the rest by less than their scatter is noise", () => {
    const trend = trendOf([1400, 1000, 1300, 1100, 1450]);
    expect(trend.rise).toBeGreaterThan(0);
    expect(trend.grows).toBe(false);
  });

  test("two windows fit a line exactly: no judgement", () => {
    expect(() => trendOf([1, 2])).toThrow("at least 3");
  });
});
