// The core level: the domain state machine alone (decide, then apply each event), on one
// core, with nothing around it: no log, no node, no invariant checks (the node runs those).
// Commands are built outside the timed sections, a chunk at a time, so the figures are the
// state machine's cost and not the benchmark's. Each run starts from a fresh ledger of funded
// accounts and keeps every order it makes, as the core does today. The clock is the wall's:
// garbage collection caused by what decide and apply allocate lands in the timed sections, as
// it lands between commands in the node.
import * as hdr from "hdr-histogram-js";
import type { Command } from "../src/core/command.ts";
import { apply, decide, type Ledger } from "../src/core/state-machine.ts";
import type { BenchLevel } from "./lib/level.ts";
import { describeMix, OrderFlow, SUBMIT_MIX, TRADING_MIX, type OrderFlowMix } from "./lib/order-flow.ts";
import { median, type Figure } from "./lib/report.ts";

const LEVEL = "core";
const ACCOUNT_COUNT = 10_000;
const POSITIONS_PER_ACCOUNT = 4;
/** Commands built, then decided, at a time: large enough that the clock reads are noise. */
const CHUNK_COMMANDS = 10_000;
const WARMUP_MS = 1_500;
const SUBMIT_RUNS = 5;
const MIXED_RUNS = 3;
/** Time spent inside decide/apply per run (building commands is extra). */
const RUN_BUSY_MS = 1_500;
/** Bounds a run's ledger: the core keeps every order, ~1 KB each. */
const RUN_COMMANDS_MAX = 4_000_000;
/** Commands timed one by one for the latency figures. */
const LATENCY_SAMPLE_COMMANDS = 500_000;

interface RunResult {
  commandsPerSec: number;
  eventsPerSec: number;
  commands: number;
}

export const level: BenchLevel = {
  name: LEVEL,
  budgetSeconds: 20,
  async run(log) {
    log(`${ACCOUNT_COUNT.toLocaleString("en-US")} accounts, ${POSITIONS_PER_ACCOUNT} starting positions each; a fresh ledger every run`);
    measureRun(SUBMIT_MIX, 1, WARMUP_MS);
    measureRun(TRADING_MIX, 2, WARMUP_MS / 3);
    const submits = runs("submit", SUBMIT_MIX, SUBMIT_RUNS, 100, log);
    const mixed = runs("mixed", TRADING_MIX, MIXED_RUNS, 200, log);
    const latency = measureLatency(TRADING_MIX, 300);
    log(`latency over ${LATENCY_SAMPLE_COMMANDS.toLocaleString("en-US")} mixed commands timed one by one: p50 ${latency.p50_ns} ns, p99 ${latency.p99_ns} ns, p99.9 ${latency.p999_ns} ns, max ${latency.max_ns} ns`);
    const submitRates = submits.map((r) => r.commandsPerSec);
    const mixedRates = mixed.map((r) => r.commandsPerSec);
    return [
      {
        level: LEVEL,
        name: "submit_orders_per_sec",
        value: median(submitRates),
        unit: "orders/s",
        target: { value: 1_000_000, comparison: ">=" },
        note: `decide+apply of limit submits (9 buys : 1 sell), one core, on ${ACCOUNT_COUNT.toLocaleString("en-US")} accounts; median of ${SUBMIT_RUNS} runs of ${RUN_BUSY_MS / 1000} s (${range(submitRates)}), each adding ~${median(submits.map((r) => r.commands)).toLocaleString("en-US")} orders to a fresh ledger`,
      },
      {
        level: LEVEL,
        name: "mixed_commands_per_sec",
        value: median(mixedRates),
        unit: "commands/s",
        note: `${describeMix(TRADING_MIX)} (one event each); median of ${MIXED_RUNS} runs (${range(mixedRates)})`,
      },
      latencyFigure("command_latency_ns_p50", latency.p50_ns),
      latencyFigure("command_latency_ns_p99", latency.p99_ns),
      latencyFigure("command_latency_ns_p999", latency.p999_ns),
    ];
  },
};

function runs(label: string, mix: OrderFlowMix, count: number, seed: number, log: (line: string) => void): RunResult[] {
  const results: RunResult[] = [];
  for (let run = 0; run < count; run += 1) {
    // Garbage of the run before is collected now, not inside this run's timed sections.
    Bun.gc(true);
    const result = measureRun(mix, seed + run, RUN_BUSY_MS);
    log(`${label} run ${run + 1}: ${result.commandsPerSec.toLocaleString("en-US")} commands/s, ${result.eventsPerSec.toLocaleString("en-US")} events/s (${result.commands.toLocaleString("en-US")} commands)`);
    results.push(result);
  }
  return results;
}

/** Decides and applies chunks of the flow until busyMs have been spent inside the core. */
function measureRun(mix: OrderFlowMix, seed: number, busyMs: number): RunResult {
  const flow = new OrderFlow({ accountCount: ACCOUNT_COUNT, positionsPerAccount: POSITIONS_PER_ACCOUNT, seed, mix });
  const ledger: Ledger = new Map();
  for (const command of flow.setup()) decideAndApply(ledger, command);
  const chunk = new Array<Command>(CHUNK_COMMANDS);
  let spentMs = 0;
  let commands = 0;
  let events = 0;
  while (spentMs < busyMs && commands < RUN_COMMANDS_MAX) {
    flow.nextChunk(chunk);
    const startedMs = performance.now();
    for (const command of chunk) events += decideAndApply(ledger, command);
    spentMs += performance.now() - startedMs;
    commands += chunk.length;
  }
  const seconds = spentMs / 1000;
  return { commandsPerSec: Math.round(commands / seconds), eventsPerSec: Math.round(events / seconds), commands };
}

/** What the node does with a command, minus the log: every command of the flow is valid. */
function decideAndApply(ledger: Ledger, command: Command): number {
  const decision = decide(ledger, command);
  if (!decision.ok) {
    throw new Error(`core bench: ${command.kind} for ${command.accountId} rejected: ${decision.rejection.code} ${decision.rejection.message}`);
  }
  for (const event of decision.events) apply(ledger, command.accountId, event);
  return decision.events.length;
}

interface LatencyNs {
  p50_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
}

/**
 * Each command timed on its own with Bun.nanoseconds(): the clock read (~tens of ns) is in
 * the figures, and a pause for garbage collection lands on whichever command it interrupts.
 */
function measureLatency(mix: OrderFlowMix, seed: number): LatencyNs {
  // Nanoseconds: a command takes a microsecond or so, below what a microsecond histogram resolves.
  const histogram = hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  Bun.gc(true);
  const flow = new OrderFlow({ accountCount: ACCOUNT_COUNT, positionsPerAccount: POSITIONS_PER_ACCOUNT, seed, mix });
  const ledger: Ledger = new Map();
  for (const command of flow.setup()) decideAndApply(ledger, command);
  const chunk = new Array<Command>(CHUNK_COMMANDS);
  const latencies = new Float64Array(CHUNK_COMMANDS);
  for (let timed = 0; timed < LATENCY_SAMPLE_COMMANDS; timed += CHUNK_COMMANDS) {
    flow.nextChunk(chunk);
    for (let index = 0; index < CHUNK_COMMANDS; index += 1) {
      const command = chunk[index] as Command;
      const startedNs = Bun.nanoseconds();
      decideAndApply(ledger, command);
      latencies[index] = Bun.nanoseconds() - startedNs;
    }
    // Recorded after the chunk, so the histogram's own work is not in the latencies.
    for (const latency of latencies) histogram.recordValue(Math.max(1, latency));
  }
  return {
    p50_ns: histogram.getValueAtPercentile(50),
    p99_ns: histogram.getValueAtPercentile(99),
    p999_ns: histogram.getValueAtPercentile(99.9),
    max_ns: histogram.maxValue,
  };
}

function latencyFigure(name: string, valueNs: number): Figure {
  return {
    level: LEVEL,
    name,
    value: valueNs,
    unit: "ns",
    note: `one mixed command's decide+apply, timed one by one over ${LATENCY_SAMPLE_COMMANDS.toLocaleString("en-US")} commands (HDR histogram)`,
  };
}

function range(values: readonly number[]): string {
  const fmt = (value: number) => value.toLocaleString("en-US");
  return `${fmt(Math.min(...values))}..${fmt(Math.max(...values))}`;
}
