// A run's schedule: what the clients ask and which faults strike, each step after a pause of
// simulated time. It is drawn from the seed once, and then is only data: the shrinker drops
// steps and runs what is left with the same seed for everything else.
import { seededRandom } from "../venue/seeded-random.ts";

export type Step = { afterMs: number } & (
  | { kind: "start"; node: NodeName }
  | { kind: "create"; account: number }
  | { kind: "deposit"; account: number }
  | { kind: "order"; account: number; side: "buy" | "sell"; symbol: number; qty: number; priceTicks: number; toStale: boolean }
  | { kind: "cancel"; account: number; pick: number; toStale: boolean }
  | { kind: "replace"; account: number; pick: number; qty: number; priceTicks: number; toStale: boolean }
  | { kind: "fills"; count: number }
  | { kind: "snapshot" }
  // Faults.
  | { kind: "crash"; afterMs2: number }
  | { kind: "append_error" }
  | { kind: "duplicate_append" }
  | { kind: "slow_log"; forMs: number; slowMs: number }
  | { kind: "log_down"; forMs: number }
  | { kind: "pause"; forMs: number }
  | { kind: "partition"; forMs: number }
);

export type NodeName = "a" | "b";
export const NODE_NAMES: readonly NodeName[] = ["a", "b"];
export const FAULT_KINDS: ReadonlySet<Step["kind"]> = new Set(["crash", "append_error", "duplicate_append", "slow_log", "log_down", "pause", "partition"]);

export const SIM_ACCOUNTS = 4;
export const SIM_LEASE_MS = 1_000;
export const SIM_ACK_TIMEOUT_MS = 300;

/** `size` steps after the opening (start a node, create the accounts, fund them). */
export function generateSchedule(seed: number, size: number): Step[] {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const steps: Step[] = [{ afterMs: 0, kind: "start", node: "a" }];
  // The first node needs a few hops to claim, mark and replay before the clients come.
  let opening = 50;
  for (let account = 0; account < SIM_ACCOUNTS; account += 1) {
    steps.push({ afterMs: opening + int(0, 3), kind: "create", account }, { afterMs: int(0, 3), kind: "deposit", account });
    opening = 0;
  }
  for (let i = 0; i < size; i += 1) {
    const afterMs = random() < 0.6 ? int(0, 2) : int(3, 120);
    const roll = random();
    const account = int(0, SIM_ACCOUNTS - 1);
    const toStale = random() < 0.1;
    if (roll < 0.4) {
      // Sells are fewer and smaller: one needs shares that fills of earlier buys brought.
      const side = random() < 0.75 ? "buy" : "sell";
      steps.push({ afterMs, kind: "order", account, side, symbol: int(0, 1), qty: side === "buy" ? int(1, 50) : int(1, 8), priceTicks: int(-5, 5), toStale });
    } else if (roll < 0.42) steps.push({ afterMs, kind: "cancel", account, pick: int(0, 1_000), toStale });
    else if (roll < 0.44) steps.push({ afterMs, kind: "replace", account, pick: int(0, 1_000), qty: int(1, 30), priceTicks: int(-5, 5), toStale });
    else if (roll < 0.5) steps.push({ afterMs, kind: "deposit", account });
    else if (roll < 0.52) steps.push({ afterMs, kind: "create", account });
    else if (roll < 0.66) steps.push({ afterMs, kind: "fills", count: int(1, 6) });
    else if (roll < 0.7) steps.push({ afterMs, kind: "snapshot" });
    else if (roll < 0.76) steps.push({ afterMs, kind: "start", node: NODE_NAMES[int(0, 1)] as NodeName });
    else if (roll < 0.84) steps.push({ afterMs, kind: "crash", afterMs2: random() < 0.5 ? 0 : int(1, 30) });
    else if (roll < 0.86) steps.push({ afterMs, kind: "append_error" });
    else if (roll < 0.87) steps.push({ afterMs, kind: "duplicate_append" });
    else if (roll < 0.91) steps.push({ afterMs, kind: "slow_log", forMs: int(50, 800), slowMs: int(100, 900) });
    else if (roll < 0.93) steps.push({ afterMs, kind: "log_down", forMs: int(50, 500) });
    else if (roll < 0.97) steps.push({ afterMs, kind: "pause", forMs: int(100, 2_500) });
    else steps.push({ afterMs, kind: "partition", forMs: int(100, 2_500) });
  }
  return steps;
}

export function describeStep(step: Step): string {
  const { afterMs, kind, ...rest } = step;
  const fields = Object.entries(rest).map(([key, value]) => `${key}=${String(value)}`).join(" ");
  return `+${afterMs}ms ${kind}${fields === "" ? "" : ` ${fields}`}`;
}
