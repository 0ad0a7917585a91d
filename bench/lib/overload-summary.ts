// What a run that did not keep up still did, from its whole-run figures (open-loop.ts): the
// pace at which it answered while the load came, what it held when the runner stopped and how
// that drained, what failed, and the latency of what was answered. A system past saturation
// that keeps answering at about the rate it sustained, while the excess waits in line, is a
// plain queue; one whose answers slow to a fraction of that, or that fails requests, is not.
import type { LatencySummary } from "./histogram.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import { median, type Figure } from "./report.ts";

/** Answering at least this share of the highest rate sustained: the system held its pace. */
export const PACE_HELD_SHARE_MIN = 0.9;
/** Answering less than this share of it: the system collapsed rather than queued. */
export const COLLAPSE_SHARE_MAX = 0.5;

export type Pace = "held" | "slowed" | "collapsed";

export interface OverloadSummary {
  pace: Pace;
  /** Answered per second while the runner sent (warm-up included): the system's pace under the load. */
  answeredPerSec: number;
  /** answeredPerSec over the reference: the highest rate sustained, or the rate asked if none was. */
  shareOfReference: number;
  /** The runner stopped at the bound before the measured window opened. */
  stoppedInWarmup: boolean;
  failed: number;
  /** One line for the report, saying all of the above. */
  text: string;
}

export function summarizeOverload(result: OpenLoopResult, sustainedPerSec: number | null): OverloadSummary {
  const { whole } = result;
  const answeredPerSec = whole.stoppedAtMs <= 0 ? 0 : Math.round(whole.answeredWhileSending / (whole.stoppedAtMs / 1000));
  const reference = sustainedPerSec ?? result.ratePerSec;
  const shareOfReference = reference <= 0 ? 0 : answeredPerSec / reference;
  const pace: Pace = shareOfReference >= PACE_HELD_SHARE_MIN ? "held" : shareOfReference < COLLAPSE_SHARE_MAX ? "collapsed" : "slowed";
  const failed = Object.values(whole.failures).reduce((sum, count) => sum + count, 0);
  const stoppedInWarmup = result.overloaded && whole.stoppedAtMs < whole.warmupMs;
  const referenceText = sustainedPerSec === null ? `the ${count(result.ratePerSec)}/s asked (no rate was sustained)` : `the ${count(sustainedPerSec)}/s sustained`;
  const verdict =
    pace === "held" && failed === 0
      ? "a plain queue: it kept answering at about the rate it sustains while the excess waited"
      : pace === "held"
        ? "it kept its pace but failed requests"
        : pace === "slowed"
          ? "it slowed under the load"
          : "it collapsed under the load";
  const stop = result.overloaded
    ? `stopped at the bound of ${count(whole.inFlightAtStop)} in flight after ${seconds(whole.stoppedAtMs)}` +
      (stoppedInWarmup ? ` (in the ${seconds(whole.warmupMs)} warm-up: the measured window never opened)` : "")
    : `${count(whole.inFlightAtStop)} still in flight at the end of the window`;
  // A queue drains at about the pace it sustains; a system that answers faster once the load
  // stops was held back by the load itself (e.g. a load generator sharing its cores).
  const drainRate = whole.drainMs <= 0 ? "" : ` (${count(Math.round(whole.answeredAfterStop / (whole.drainMs / 1000)))}/s)`;
  const drain = whole.inFlightAtStop === 0 ? "" : `; those settled in ${seconds(whole.drainMs)}${drainRate}, ${count(whole.answeredAfterStop)} answered`;
  const failures = failed === 0 ? "nothing failed" : `${count(failed)} failed (${failuresText(whole.failures)})`;
  const text =
    `${verdict}: answered ${count(answeredPerSec)}/s while sending (warm-up included), ${Math.round(shareOfReference * 100)}% of ${referenceText}; ` +
    `${stop}${drain}; ${failures}; of ${count(whole.sent)} sent, the ${count(whole.latency.count)} answered took ${latencyText(whole.latency)}`;
  return { pace, answeredPerSec, shareOfReference, stoppedInWarmup, failed, text };
}

/**
 * The latencies to report for a run: of its measured window, or, for a run that stopped at its
 * bound with no answer in the window (it never opened), of every answer it had, not 0 µs.
 */
export function reportedLatency(result: OpenLoopResult): { latency: LatencySummary; wholeRun: boolean } {
  const wholeRun = result.latency.count === 0 && result.whole.latency.count > 0;
  return { latency: wholeRun ? result.whole.latency : result.latency, wholeRun };
}

function failuresText(failures: Record<string, number>): string {
  return Object.entries(failures)
    .sort(([, a], [, b]) => b - a)
    .map(([kind, n]) => `${count(n)} ${kind}`)
    .join(", ");
}

function latencyText(latency: LatencySummary): string {
  return `p50 ${count(latency.p50_us)} µs, p99 ${count(latency.p99_us)} µs, max ${count(latency.max_us)} µs`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The codes of a refusal by admission control: turned away at once, nothing done. */
export const REFUSAL_CODES: readonly string[] = ["resource_exhausted", "unavailable"];

/**
 * Overload that degrades gracefully, measured (issue 11): runs well past capacity, each call
 * admitted (answered: the p99 row), refused (RESOURCE_EXHAUSTED or UNAVAILABLE: how fast the
 * refusal came back, per code) or failed otherwise (e.g. its deadline passed). Each row is the
 * median of the runs, every run's value in its note.
 */
export function admissionFigures(level: string, what: string, runs: readonly OpenLoopResult[]): Figure[] {
  if (runs.length === 0) throw new Error(`overload: ${what} has no runs`);
  const spread = (values: readonly number[], unit: string) => `median of ${values.length} run${values.length === 1 ? "" : "s"}: ${values.map((v) => count(v)).join(" / ")}${unit}`;
  const admittedP99 = runs.map((run) => run.latency.p99_us);
  const failedShare = runs.map((run) => {
    const settled = run.latency.count + run.errors;
    return settled === 0 ? 0 : Math.round((1000 * run.errors) / settled) / 10;
  });
  const kinds = new Map<string, number>();
  for (const run of runs) for (const [kind, latency] of Object.entries(run.failed)) kinds.set(kind, (kinds.get(kind) ?? 0) + latency.count);
  const byKind = [...kinds].sort(([, a], [, b]) => b - a).map(([kind, n]) => `${count(n)} ${kind} (p99 ${spreadOf(runs, kind)} µs)`);
  const stopped = runs.filter((run) => run.overloaded).length;
  const admittedNote = runs.map((run) => `${count(run.latency.count)} admitted, p50 ${count(run.latency.p50_us)} µs, max ${count(run.latency.max_us)} µs`).join("; ");
  const figures: Figure[] = [
    {
      level,
      name: `${what}: p99 of admitted orders`,
      value: median(admittedP99),
      unit: "µs",
      note: `${spread(admittedP99, " µs")}; ${admittedNote}` + (stopped === 0 ? "" : `; ${stopped} runs stopped at the runner's bound on calls in flight (calls neither answered nor refused)`),
    },
    { level, name: `${what}: share not admitted`, value: median(failedShare.map((share) => share * 10)) / 10, unit: "%", note: `${spread(failedShare, "%")}; by code over all runs: ${byKind.length === 0 ? "none" : byKind.join(", ")}` },
  ];
  const refusals = REFUSAL_CODES.filter((code) => kinds.has(code));
  if (refusals.length === 0) figures.push({ level, name: `${what}: p99 of refusals`, value: null, unit: "µs", note: `nothing was refused ${REFUSAL_CODES.join(" or ")}` });
  for (const code of refusals) {
    const p99s = runs.flatMap((run) => (run.failed[code] === undefined ? [] : [run.failed[code].p99_us]));
    figures.push({ level, name: `${what}: p99 of refusals (${code})`, value: median(p99s), unit: "µs", note: `from the call's intended start to its refusal; ${spread(p99s, " µs")}` });
  }
  return figures;
}

/** One kind's p99 in each run that had it, "a / b / c". */
function spreadOf(runs: readonly OpenLoopResult[], kind: string): string {
  return runs.flatMap((run) => (run.failed[kind] === undefined ? [] : [count(run.failed[kind].p99_us)])).join(" / ");
}
