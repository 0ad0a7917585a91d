// Fuzzing the balancer's public methods in every protocol it speaks (rpc-fuzz.ts, rpc-cases.ts)
// against a balancer and a node in this process: every answer well formed in the caller's
// protocol with a code the input deserves, no 5xx but unavailable, no connection dropped but by
// policy, the victim account unchanged by refused calls, the heap within a bound. The seed is
// fixed (OMS_FUZZ_SEED picks others); a failure prints it with fast-check's path and the shrunk
// case, which `bun run fuzz --only rpc --seed S --path P` replays.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFuzzCluster, type FuzzCluster } from "./fuzz-cluster.ts";
import { fuzzRpc } from "./rpc-fuzz.ts";

const SEED = Number(process.env["OMS_FUZZ_SEED"] ?? 2_026);
const RUNS = 3_000;
/** The heap of this process (client, balancer and node) after a full collection may grow this much over the run. */
const HEAP_GROWTH_BYTES_MAX = 64 * 1024 * 1024;
/** Generous: 3000 cases take about 25 s on a loaded 2-core machine, and shrinking a failure takes longer. */
const RUN_TIMEOUT_MS = 240_000;

let cluster: FuzzCluster;

beforeAll(async () => {
  cluster = await startFuzzCluster();
}, 30_000);

afterAll(() => cluster.stop());

test(`${RUNS} fuzzed calls over every protocol get well-formed answers with the right codes (seed ${SEED})`, async () => {
  const summary = await fuzzRpc(cluster, { runs: RUNS, seed: SEED, heapGrowthMaxBytes: HEAP_GROWTH_BYTES_MAX });
  console.log(`fuzz rpc: seed ${SEED}, codes`, Object.fromEntries(summary.codes), `heap growth ${(summary.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB`);
  // The cases must reach both the refusals and the successes, or the run proves little.
  expect(summary.codes.get("ok") ?? 0).toBeGreaterThan(RUNS / 20);
  expect(summary.codes.get("invalid_argument") ?? 0).toBeGreaterThan(RUNS / 5);
}, RUN_TIMEOUT_MS);
