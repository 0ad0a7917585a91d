// Shrinking a failing schedule to a short one that fails the same way: delta debugging
// (Zeller's ddmin) over its steps, with the seed (and so the environment) held fixed. "The
// same way" is the failure's kind: its text up to the first colon-free word run, so that a
// lost order stays a lost order while the ids in the message change.
import type { Step } from "./schedule.ts";
import { runSchedule, type RunOptions } from "./simulation.ts";

/** Runs a shrink may spend: each is one simulated run, a few milliseconds. */
export const SHRINK_RUNS_MAX = 2_000;

export interface Shrunk {
  steps: Step[];
  failure: string;
  runs: number;
}

export function failureKind(failure: string): string {
  // "after a#3 recovered: lost: order o5 ..." → "lost"; "venue: order o2 submitted twice" → "venue submitted twice"
  const parts = failure.split(": ");
  const kind = parts.find((part) => /^(lost|divergence|invariant|venue|final|node|harness)$/.test(part));
  if (kind === "venue") return `venue ${failure.includes("twice") ? "twice" : "before the log"}`;
  return kind ?? parts[0] ?? failure;
}

export async function shrink(options: RunOptions, failure: string): Promise<Shrunk> {
  const kind = failureKind(failure);
  let steps = [...options.steps];
  let last = failure;
  let runs = 0;
  const fails = async (candidate: Step[]): Promise<string | null> => {
    runs += 1;
    const result = await runSchedule({ ...options, steps: candidate });
    return result.failure !== null && failureKind(result.failure) === kind ? result.failure : null;
  };
  let chunks = 2;
  while (steps.length >= 2 && runs < SHRINK_RUNS_MAX) {
    const size = Math.ceil(steps.length / chunks);
    let reduced = false;
    for (let start = 0; start < steps.length && runs < SHRINK_RUNS_MAX; start += size) {
      // Dropping a chunk keeps the later steps at their times: its pauses go to the next step.
      const candidate = withoutRange(steps, start, start + size);
      const found = await fails(candidate);
      if (found !== null) {
        steps = candidate;
        last = found;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size === 1) break;
      chunks = Math.min(chunks * 2, steps.length);
    }
  }
  return { steps, failure: last, runs };
}

function withoutRange(steps: readonly Step[], from: number, to: number): Step[] {
  const dropped = steps.slice(from, to).reduce((sum, step) => sum + step.afterMs, 0);
  const kept = [...steps.slice(0, from), ...steps.slice(to)];
  const next = kept[from];
  if (next !== undefined) kept[from] = { ...next, afterMs: next.afterMs + dropped };
  return kept;
}
