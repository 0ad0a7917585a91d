// A campaign: many seeds, each a generated schedule run once; the first failures are shrunk
// and printed as schedules one can replay with --seed.
import { describeStep, generateSchedule } from "./schedule.ts";
import { shrink, type Shrunk } from "./shrink.ts";
import { runSchedule, type RunResult } from "./simulation.ts";
import type { LogBugs } from "./sim-log.ts";

/** Steps per seed after the opening: CI's size; longer runs find deeper schedules. */
export const STEPS_PER_SEED_DEFAULT = 60;

export interface CampaignOptions {
  firstSeed: number;
  seeds: number;
  steps: number;
  bugs?: LogBugs;
  /** Failures shrunk (each may take many runs); the rest are only counted. */
  shrinkFirst: number;
  onProgress?: (done: number, summary: CampaignSummary) => void;
}

export interface CampaignSummary {
  seedsRun: number;
  faultsInjected: number;
  recoveries: number;
  ackedOrdersChecked: number;
  lost: number;
  divergences: number;
  failedSeeds: number[];
  shrunk: { seed: number; original: number; result: Shrunk }[];
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const summary: CampaignSummary = { seedsRun: 0, faultsInjected: 0, recoveries: 0, ackedOrdersChecked: 0, lost: 0, divergences: 0, failedSeeds: [], shrunk: [] };
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed += 1) {
    const steps = generateSchedule(seed, options.steps);
    const result = await runSchedule(bugsOf({ seed, steps }, options.bugs));
    add(summary, result);
    if (result.failure !== null) {
      summary.failedSeeds.push(seed);
      if (summary.shrunk.length < options.shrinkFirst) {
        summary.shrunk.push({ seed, original: steps.length, result: await shrink(bugsOf({ seed, steps }, options.bugs), result.failure) });
      }
    }
    options.onProgress?.(summary.seedsRun, summary);
  }
  return summary;
}

function bugsOf<T extends object>(run: T, bugs: LogBugs | undefined): T & { bugs?: LogBugs } {
  return bugs === undefined ? run : { ...run, bugs };
}

function add(summary: CampaignSummary, result: RunResult): void {
  summary.seedsRun += 1;
  summary.faultsInjected += result.faults;
  summary.recoveries += result.recoveries;
  summary.ackedOrdersChecked += result.ackedOrdersChecked;
  summary.lost += result.lost;
  summary.divergences += result.divergences;
}

export function summaryLine(summary: CampaignSummary): string {
  return `seeds run ${summary.seedsRun}, faults injected ${summary.faultsInjected}, recoveries checked ${summary.recoveries}, acked orders checked ${summary.ackedOrdersChecked}, lost ${summary.lost}, divergences ${summary.divergences}, failed seeds ${summary.failedSeeds.length}`;
}

export function shrunkText(seed: number, original: number, shrunk: Shrunk): string {
  const lines = [`seed ${seed}: shrunk from ${original} steps to ${shrunk.steps.length} in ${shrunk.runs} runs: ${shrunk.failure}`];
  for (const step of shrunk.steps) lines.push(`  ${describeStep(step)}`);
  return lines.join("\n");
}
