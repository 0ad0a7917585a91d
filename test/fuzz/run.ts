// `bun run fuzz [--runs N] [--seed S] [--path P] [--only rpc|record|snapshot] [--cluster process]`:
// the fuzzers of test/fuzz outside the test suite, for long campaigns; --cluster process calls
// `oms dev` in a process of its own, whose exit fails the run and whose RSS is bounded. A failure prints its seed, fast-check's
// replay path and the shrunk case, and exits 1; `--seed S --path P` replays exactly that case.
// The suite (rpc.fuzz.test.ts, decoders.fuzz.test.ts) runs the same properties, fewer cases.
import { parseArgs } from "node:util";
import { fuzzLedgerDecoder, fuzzRecordDecoder } from "./decoder-fuzz.ts";
import { startFuzzCluster } from "./fuzz-cluster.ts";
import { fuzzRpc } from "./rpc-fuzz.ts";

/** Heap growth allowed over a run, per case and at least: the node keeps every order it placed (~460 B each, issue 10 item 4). */
const HEAP_GROWTH_BYTES_PER_CASE = 4 * 1024;
const HEAP_GROWTH_BYTES_MIN = 64 * 1024 * 1024;
/** RSS allowed to `oms dev`'s processes after a run (--cluster process): a start's worth, and the orders kept (as above). */
const SERVER_RSS_BYTES_BASE = 512 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000" },
    seed: { type: "string" },
    path: { type: "string" },
    only: { type: "string" },
    cluster: { type: "string", default: "in-process" },
  },
  strict: true,
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs: a positive integer, got ${values.runs}`);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed: an integer, got ${values.seed}`);
const only = values.only;
if (only !== undefined && !["rpc", "record", "snapshot"].includes(only)) throw new Error(`--only: rpc, record or snapshot, got ${only}`);
const path = values.path;
const clusterKind = values.cluster;
if (clusterKind !== "in-process" && clusterKind !== "process") throw new Error(`--cluster: in-process or process, got ${clusterKind}`);

console.log(`fuzz: seed ${seed}, ${runs} cases each${only === undefined ? "" : ` (${only} only)`}`);
let failed = false;
async function stage(name: string, work: () => unknown | Promise<unknown>): Promise<void> {
  if (only !== undefined && only !== name) return;
  const started = performance.now();
  try {
    const summary = await work();
    console.log(`fuzz ${name}: ${runs} cases passed in ${((performance.now() - started) / 1000).toFixed(1)} s`, summary);
  } catch (error) {
    failed = true;
    console.error(`fuzz ${name}: FAILED (seed ${seed}); replay with: bun run fuzz --only ${name} --seed ${seed} --runs ${runs} [--path from below]`);
    console.error(error instanceof Error ? `${error.message}${error.cause instanceof Error ? `\ncause: ${error.cause.message}` : ""}` : error);
  }
}

await stage("record", () => fuzzRecordDecoder(runs, seed, path));
await stage("snapshot", () => fuzzLedgerDecoder(runs, seed, path));
await stage("rpc", async () => {
  const cluster = await startFuzzCluster(clusterKind);
  try {
    const summary = await fuzzRpc(cluster, {
      runs,
      seed,
      ...(path === undefined ? {} : { path }),
      heapGrowthMaxBytes: Math.max(HEAP_GROWTH_BYTES_MIN, runs * HEAP_GROWTH_BYTES_PER_CASE),
      serverRssMaxBytes: SERVER_RSS_BYTES_BASE + runs * HEAP_GROWTH_BYTES_PER_CASE,
      progress: (done) => console.log(`fuzz rpc: ${done} cases`),
    });
    const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : (bytes / 2 ** 20).toFixed(1));
    return { cluster: clusterKind, codes: Object.fromEntries(summary.codes), heapGrowthMiB: mib(summary.heapGrowthBytes), rssMiB: mib(summary.rssBytes), clusterRssMiB: mib(summary.serverRssBytes) };
  } finally {
    await cluster.stop();
  }
});
process.exit(failed ? 1 : 0);
