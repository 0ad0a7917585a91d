// bun run simulate [--seeds N] [--first-seed F] [--steps-per-seed K] [--seed S [--steps JSON]] [--plant BUG]
// Runs a campaign of seeded simulations (sim/simulation.ts) and prints one summary line; a
// failing seed is shrunk and its short schedule printed, with the command that replays it.
import { parseArgs } from "node:util";
import { runCampaign, shrunkText, STEPS_PER_SEED_DEFAULT, summaryLine } from "./campaign.ts";
import { generateSchedule, type Step } from "./schedule.ts";
import { shrink } from "./shrink.ts";
import { NO_LOG_BUGS, type LogBugs } from "./sim-log.ts";
import { runSchedule } from "./simulation.ts";

const PLANTS: Record<string, LogBugs> = {
  "drop-last-on-crash": { ...NO_LOG_BUGS, dropLastOnCrash: true },
  "ack-before-durable": { ...NO_LOG_BUGS, ackBeforeDurable: true },
};
/** Failures of a campaign shrunk and printed; more are only counted. */
const SHRINK_FIRST = 3;
const PROGRESS_EVERY_SEEDS = 1_000;

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "500" },
    "first-seed": { type: "string", default: "1" },
    "steps-per-seed": { type: "string", default: String(STEPS_PER_SEED_DEFAULT) },
    seed: { type: "string" },
    steps: { type: "string" },
    plant: { type: "string" },
  },
});

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const bugs = values.plant === undefined ? undefined : PLANTS[values.plant];
if (values.plant !== undefined && bugs === undefined) throw new Error(`--plant must be one of ${Object.keys(PLANTS).join(", ")}`);
const stepsPerSeed = positive("steps-per-seed", values["steps-per-seed"]);

if (values.seed !== undefined) {
  const seed = positive("seed", values.seed);
  const steps: Step[] = values.steps === undefined ? generateSchedule(seed, stepsPerSeed) : (JSON.parse(values.steps) as Step[]);
  const options = bugs === undefined ? { seed, steps } : { seed, steps, bugs };
  const result = await runSchedule(options);
  if (result.failure === null) {
    console.log(`seed ${seed}: passed (${steps.length} steps, ${result.faults} faults, ${result.recoveries} recoveries, ${result.events} events)`);
  } else {
    console.log(`seed ${seed}: FAILED: ${result.failure}`);
    const shrunk = await shrink(options, result.failure);
    console.log(shrunkText(seed, steps.length, shrunk));
    console.log(`replay: bun run simulate --seed ${seed}${values.plant === undefined ? "" : ` --plant ${values.plant}`} --steps '${JSON.stringify(shrunk.steps)}'`);
    process.exitCode = 1;
  }
} else {
  const firstSeed = positive("first-seed", values["first-seed"]);
  const seeds = positive("seeds", values.seeds);
  const startedMs = performance.now();
  const summary = await runCampaign({
    firstSeed, seeds, steps: stepsPerSeed, shrinkFirst: SHRINK_FIRST, ...(bugs === undefined ? {} : { bugs }),
    onProgress: (done, so) => {
      if (done % PROGRESS_EVERY_SEEDS === 0) console.error(`${done} seeds, ${Math.round((performance.now() - startedMs) / 1000)} s: ${summaryLine(so)}`);
    },
  });
  for (const { seed, original, result } of summary.shrunk) {
    console.log(shrunkText(seed, original, result));
    console.log(`  replay: bun run simulate --seed ${seed} --steps-per-seed ${stepsPerSeed}${values.plant === undefined ? "" : ` --plant ${values.plant}`}`);
  }
  if (summary.failedSeeds.length > 0) console.log(`failed seeds: ${summary.failedSeeds.slice(0, 50).join(" ")}${summary.failedSeeds.length > 50 ? " …" : ""}`);
  console.log(`${summaryLine(summary)} (seeds ${firstSeed}..${firstSeed + seeds - 1}, ${stepsPerSeed} steps each, ${Math.round((performance.now() - startedMs) / 1000)} s)`);
  if (summary.failedSeeds.length > 0) process.exitCode = 1;
}


