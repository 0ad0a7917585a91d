// Where an order's time goes, per hop, from the processes' own /metrics: a scrape of the node
// and of the balancer before a run and another after it; the difference of each histogram's
// buckets is that run's alone. A percentile read from buckets is only as fine as the buckets:
// it is given as the upper bound of the bucket it falls in ("p99 ≤ 300 µs"), never interpolated.
// A family a process does not expose yet reads "not exposed", so the budget runs on any build.
import { BALANCER_STAGE_FAMILY, BALANCER_STAGES } from "../../src/metrics/balancer-metrics.ts";
import { EVENT_LOOP_LAG_FAMILY, EVENT_LOOP_LAG_MAX_GAUGE } from "../../src/metrics/event-loop-lag.ts";
import { MAIN_THREAD_WORK_FAMILY } from "../../src/metrics/main-thread-work.ts";
import { NODE_STAGE_FAMILY, NODE_STAGES } from "../../src/metrics/node-metrics.ts";
import type { Figure } from "./report.ts";

/** One sample of the Prometheus text exposition: `name{label="v",…} value`. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Periodic jobs listed per process, the dearest first. */
export const MAIN_THREAD_JOBS_LISTED = 3;

/** A sample line: name, optional {labels}, value (a timestamp after it is ignored). */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(LABEL)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1] as string, labels, value: parseNumber(match[3] as string) });
  }
  return samples;
}

function parseNumber(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** One histogram's cumulative buckets (the last is +Inf), its sum and count. */
export interface BucketHistogram {
  /** Upper bounds, increasing, ending with Infinity. */
  bounds: number[];
  /** Observations at or below each bound (cumulative, as exposed). */
  cumulative: number[];
  sum: number;
  count: number;
}

/**
 * Every histogram of a family, by the value of one label ("" when the family has none), or
 * null when the scrape has no such family.
 */
export function histogramsOf(samples: readonly Sample[], family: string, labelName: string | null): Map<string, BucketHistogram> | null {
  const found = new Map<string, { buckets: [number, number][]; sum: number; count: number }>();
  const entry = (labels: Readonly<Record<string, string>>) => {
    const key = labelName === null ? "" : (labels[labelName] ?? "");
    let histogram = found.get(key);
    if (histogram === undefined) {
      histogram = { buckets: [], sum: 0, count: 0 };
      found.set(key, histogram);
    }
    return histogram;
  };
  for (const sample of samples) {
    if (sample.name === `${family}_bucket`) entry(sample.labels).buckets.push([parseNumber(sample.labels["le"] ?? "NaN"), sample.value]);
    else if (sample.name === `${family}_sum`) entry(sample.labels).sum = sample.value;
    else if (sample.name === `${family}_count`) entry(sample.labels).count = sample.value;
  }
  if (found.size === 0) return null;
  const histograms = new Map<string, BucketHistogram>();
  for (const [key, { buckets, sum, count }] of found) {
    buckets.sort(([a], [b]) => a - b);
    histograms.set(key, { bounds: buckets.map(([bound]) => bound), cumulative: buckets.map(([, n]) => n), sum, count });
  }
  return histograms;
}

/**
 * What was observed between two scrapes of one histogram. Absent before (the label value first
 * seen in the run): everything after. A process restarted between them would make counts fall:
 * that is refused rather than reported as a negative budget.
 */
export function histogramDelta(before: BucketHistogram | undefined, after: BucketHistogram): BucketHistogram {
  if (before === undefined) return after;
  if (before.bounds.length !== after.bounds.length || before.bounds.some((bound, i) => bound !== after.bounds[i])) {
    throw new Error("stage budget: a histogram's buckets changed between scrapes");
  }
  const cumulative = after.cumulative.map((n, i) => n - (before.cumulative[i] as number));
  if (cumulative.some((n) => n < 0) || after.count < before.count) throw new Error("stage budget: a histogram's counts fell between scrapes (did the process restart?)");
  return { bounds: after.bounds, cumulative, sum: after.sum - before.sum, count: after.count - before.count };
}

/** The upper bound of the bucket the q-quantile falls in (Infinity: above the last bound), or null with no observations. */
export function bucketQuantile(histogram: BucketHistogram, q: number): number | null {
  const total = histogram.cumulative[histogram.cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = Math.ceil(q * total);
  const at = histogram.cumulative.findIndex((n) => n >= rank);
  return histogram.bounds[at] ?? Infinity;
}

/** One process's /metrics text before and after a run. */
export interface ScrapePair {
  before: string;
  after: string;
}

export interface StageFigure {
  stage: string;
  /** Bucket upper bounds in µs; Infinity above the last bound. */
  p50UpperUs: number;
  p99UpperUs: number;
  count: number;
  meanUs: number;
}

export interface LagFigure {
  p99UpperUs: number;
  count: number;
  /** The max gauge after the run, or null if not exposed. */
  maxUs: number | null;
}

export interface WorkFigure {
  job: string;
  totalMs: number;
  count: number;
  p99UpperUs: number;
}

/** What one process's metrics say about a run; null for a family the process does not expose. */
export interface ProcessBudget {
  stages: StageFigure[] | null;
  lag: LagFigure | null;
  /** The dearest jobs by total time over the run, at most MAIN_THREAD_JOBS_LISTED. */
  mainThreadWork: WorkFigure[] | null;
}

export function processBudget(scrapes: ScrapePair, stageFamily: string, stageOrder: readonly string[]): ProcessBudget {
  const before = parseExposition(scrapes.before);
  const after = parseExposition(scrapes.after);
  const deltas = (family: string, label: string | null): Map<string, BucketHistogram> | null => {
    const end = histogramsOf(after, family, label);
    if (end === null) return null;
    const start = histogramsOf(before, family, label) ?? new Map<string, BucketHistogram>();
    return new Map([...end].map(([key, histogram]) => [key, histogramDelta(start.get(key), histogram)]));
  };
  return {
    stages: stagesOf(deltas(stageFamily, "stage"), stageOrder),
    lag: lagOf(deltas(EVENT_LOOP_LAG_FAMILY, null), after),
    mainThreadWork: workOf(deltas(MAIN_THREAD_WORK_FAMILY, "job")),
  };
}

function stagesOf(deltas: Map<string, BucketHistogram> | null, order: readonly string[]): StageFigure[] | null {
  if (deltas === null) return null;
  // Known stages in path order, then any the build added that this list does not know yet.
  const names = [...order.filter((stage) => deltas.has(stage)), ...[...deltas.keys()].filter((stage) => !order.includes(stage)).sort()];
  return names.map((stage) => {
    const histogram = deltas.get(stage) as BucketHistogram;
    return {
      stage,
      p50UpperUs: microseconds(bucketQuantile(histogram, 0.5)),
      p99UpperUs: microseconds(bucketQuantile(histogram, 0.99)),
      count: histogram.count,
      meanUs: histogram.count === 0 ? 0 : Math.round((histogram.sum / histogram.count) * 1e6),
    };
  });
}

function lagOf(deltas: Map<string, BucketHistogram> | null, after: readonly Sample[]): LagFigure | null {
  const histogram = deltas?.get("");
  if (histogram === undefined) return null;
  const gauge = after.find((sample) => sample.name === EVENT_LOOP_LAG_MAX_GAUGE);
  return { p99UpperUs: microseconds(bucketQuantile(histogram, 0.99)), count: histogram.count, maxUs: gauge === undefined ? null : Math.round(gauge.value * 1e6) };
}

function workOf(deltas: Map<string, BucketHistogram> | null): WorkFigure[] | null {
  if (deltas === null) return null;
  return [...deltas]
    .map(([job, histogram]) => ({ job, totalMs: Math.round(histogram.sum * 1e6) / 1e3, count: histogram.count, p99UpperUs: microseconds(bucketQuantile(histogram, 0.99)) }))
    .filter((work) => work.count > 0)
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, MAIN_THREAD_JOBS_LISTED);
}

/** Seconds to µs, rounded (bounds like 2.5e-5 s are whole µs); 0 for a quantile with no observations. */
function microseconds(seconds: number | null): number {
  if (seconds === null) return 0;
  return seconds === Infinity ? Infinity : Math.round(seconds * 1e6);
}

/** "≤ 300 µs", or "> the last bound" for a quantile above every bucket. */
export function boundText(upperUs: number): string {
  return upperUs === Infinity ? "above the last bucket" : `≤ ${upperUs.toLocaleString("en-US")} µs`;
}

/** A process in the budget: its name in the report, its stage family and the order of its stages. */
export interface BudgetProcess {
  process: "node" | "balancer";
  scrapes: ScrapePair;
}

const STAGE_FAMILIES = {
  node: { family: NODE_STAGE_FAMILY, order: NODE_STAGES },
  balancer: { family: BALANCER_STAGE_FAMILY, order: BALANCER_STAGES },
} as const;

const RESOLUTION = "bucket resolution: the upper bound of the bucket the percentile falls in";

/**
 * The budget rows of one run (or of a rate's runs, between a scrape before the first and one
 * after the last): per stage its p99 (p50 in the note), held against its share of the rate's
 * p99 target when shares are given; per process its event-loop lag and its dearest main-thread
 * jobs. A family not exposed is one row saying so, with no value.
 */
export function stageBudgetFigures(level: string, what: string, processes: readonly BudgetProcess[], sharesUs?: Readonly<Record<string, number>>): Figure[] {
  const figures: Figure[] = [];
  for (const { process, scrapes } of processes) {
    const { family, order } = STAGE_FAMILIES[process];
    const budget = processBudget(scrapes, family, order);
    if (budget.stages === null) figures.push(absent(level, `${what} ${process} stages`, family));
    else {
      for (const stage of budget.stages) {
        if (stage.count === 0) {
          // A stage only some calls pass (e.g. the balancer's, for unary calls only) on a run of others.
          figures.push({ level, name: `${what} ${process} stage ${stage.stage} p99`, value: null, unit: "µs", note: `${family}{stage="${stage.stage}"}: no observations in the run` });
          continue;
        }
        const share = sharesUs?.[stage.stage];
        figures.push({
          level,
          name: `${what} ${process} stage ${stage.stage} p99`,
          ...bucketValue(stage.p99UpperUs),
          ...(share === undefined ? {} : { target: { value: share, comparison: "<=" as const } }),
          note: `${family}{stage="${stage.stage}"}: p50 ${boundText(stage.p50UpperUs)}, p99 ${boundText(stage.p99UpperUs)}, mean ${stage.meanUs.toLocaleString("en-US")} µs, ${stage.count.toLocaleString("en-US")} observations; ${RESOLUTION}`,
        });
      }
    }
    if (budget.lag === null) figures.push(absent(level, `${what} ${process} event-loop lag p99`, EVENT_LOOP_LAG_FAMILY));
    else {
      const max = budget.lag.maxUs === null ? `${EVENT_LOOP_LAG_MAX_GAUGE} not exposed` : `max ${budget.lag.maxUs.toLocaleString("en-US")} µs (${EVENT_LOOP_LAG_MAX_GAUGE} after the run)`;
      figures.push({ level, name: `${what} ${process} event-loop lag p99`, ...bucketValue(budget.lag.p99UpperUs), note: `${max}; ${budget.lag.count.toLocaleString("en-US")} samples; ${RESOLUTION}` });
    }
    if (budget.mainThreadWork === null) figures.push(absent(level, `${what} ${process} main-thread work, dearest job`, MAIN_THREAD_WORK_FAMILY));
    else {
      const top = budget.mainThreadWork[0];
      const jobs = budget.mainThreadWork.map((work) => `${work.job} ${work.totalMs} ms in ${work.count.toLocaleString("en-US")} (p99 ${boundText(work.p99UpperUs)})`);
      figures.push({
        level,
        name: `${what} ${process} main-thread work, dearest job`,
        value: top?.totalMs ?? 0,
        unit: "ms",
        // The scrape that opened the window finished its work after its text was taken: it is in the delta.
        note: top === undefined ? "no periodic work observed in the run" : `total over the run, dearest first: ${jobs.join("; ")} (the bench's own scrape before the run counts among them)`,
      });
    }
  }
  return figures;
}

function bucketValue(upperUs: number): { value: number | null; unit: string } {
  return upperUs === Infinity ? { value: null, unit: "µs (above the last bucket)" } : { value: upperUs, unit: "µs" };
}

function absent(level: string, name: string, family: string): Figure {
  return { level, name, value: null, unit: "", note: `not exposed: the process's /metrics has no ${family}` };
}
