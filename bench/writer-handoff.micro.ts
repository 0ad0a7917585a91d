// `bun bench/writer-handoff.micro.ts`: what handing a log batch to a writer thread and hearing
// back costs, by the two ways a thread can be fed: postMessage with the batch's buffer moved
// (what the SQLite log does), and a SharedArrayBuffer slot the main thread fills and signals
// with Atomics.notify, the thread answering through Atomics.waitAsync. The thread does no work
// (the commit is not timed), so each figure is the hand-off alone: to the thread (sent → the
// thread has it) and back (the thread done → the main thread has heard), on the clock every
// thread shares (timeOrigin + now). Paced: a batch every 1 ms, the thread asleep between (a
// node at low rates); back to back: the next batch as soon as the last is heard (a loaded node).
// Runs alternate the two ways, so a noisy machine weighs on both alike.

export {};

const BATCH_BYTES = 4096;
const BATCHES_PER_RUN = 2_000;
const RUNS = 3;

type Way = "postMessage" | "atomics";
type Pace = "paced" | "back to back";

interface Sample {
  toThread: number;
  back: number;
}

const abs = () => performance.timeOrigin + performance.now();

function workerOf(source: string): Worker {
  return new Worker(URL.createObjectURL(new Blob([source], { type: "application/javascript" })));
}

/** postMessage both ways; the thread answers [received at, answered at]. */
const MESSAGE_THREAD = `self.onmessage = (message) => {
  const received = performance.timeOrigin + performance.now();
  self.postMessage([received, performance.timeOrigin + performance.now()]);
};`;

/**
 * Slots in a SharedArrayBuffer: int32 [0] the batch sequence sent, [1] the sequence answered;
 * float64 [1] received at, [2] answered at. The thread sleeps in Atomics.wait on [0].
 */
const ATOMICS_THREAD = `self.onmessage = (message) => {
  const ints = new Int32Array(message.data);
  const times = new Float64Array(message.data);
  let seen = 0;
  for (;;) {
    Atomics.wait(ints, 0, seen);
    seen = Atomics.load(ints, 0);
    if (seen < 0) return;
    times[1] = performance.timeOrigin + performance.now();
    times[2] = performance.timeOrigin + performance.now();
    Atomics.store(ints, 1, seen);
    Atomics.notify(ints, 1);
  }
};`;

async function pace(kind: Pace): Promise<void> {
  if (kind === "paced") await new Promise((resolve) => setTimeout(resolve, 1));
}

async function runPostMessage(kind: Pace): Promise<Sample[]> {
  const worker = workerOf(MESSAGE_THREAD);
  const samples: Sample[] = [];
  let heard: ((times: [number, number]) => void) | null = null;
  worker.onmessage = (message: MessageEvent<[number, number]>) => heard?.(message.data);
  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    await pace(kind);
    const batch = new Uint8Array(BATCH_BYTES);
    const answered = new Promise<[number, number]>((resolve) => (heard = resolve));
    const sent = abs();
    worker.postMessage(batch, [batch.buffer]);
    const [received, done] = await answered;
    samples.push({ toThread: received - sent, back: abs() - done });
  }
  worker.terminate();
  return samples;
}

async function runAtomics(kind: Pace): Promise<Sample[]> {
  const worker = workerOf(ATOMICS_THREAD);
  const shared = new SharedArrayBuffer(64 + BATCH_BYTES);
  const ints = new Int32Array(shared);
  const times = new Float64Array(shared);
  const bytes = new Uint8Array(shared, 64);
  worker.postMessage(shared);
  const samples: Sample[] = [];
  for (let i = 1; i <= BATCHES_PER_RUN; i++) {
    await pace(kind);
    bytes.fill(i & 0xff);
    const answered = Atomics.waitAsync(ints, 1, i - 1);
    const sent = abs();
    Atomics.store(ints, 0, i);
    Atomics.notify(ints, 0);
    if (answered.async) await answered.value;
    samples.push({ toThread: (times[1] as number) - sent, back: abs() - (times[2] as number) });
  }
  Atomics.store(ints, 0, -1);
  Atomics.notify(ints, 0);
  worker.terminate();
  return samples;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function describe(values: number[]): string {
  const sorted = values.map((ms) => ms * 1000).sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 0.5).toFixed(0)} µs, p99 ${percentile(sorted, 0.99).toFixed(0)} µs, p99.9 ${percentile(sorted, 0.999).toFixed(0)} µs`;
}

const results = new Map<string, Sample[]>();
for (let run = 0; run < RUNS; run++) {
  for (const kind of ["paced", "back to back"] as const) {
    for (const way of ["postMessage", "atomics"] as const satisfies readonly Way[]) {
      const samples = way === "postMessage" ? await runPostMessage(kind) : await runAtomics(kind);
      const key = `${kind}, ${way}`;
      results.set(key, [...(results.get(key) ?? []), ...samples.slice(100)]);
    }
  }
}
console.log(`writer hand-off, ${RUNS} runs of ${BATCHES_PER_RUN} batches of ${BATCH_BYTES} bytes each way, interleaved:`);
for (const [key, samples] of results) {
  console.log(`  ${key.padEnd(26)} to the thread ${describe(samples.map((s) => s.toThread))}; back ${describe(samples.map((s) => s.back))}`);
}
process.exit(0);
