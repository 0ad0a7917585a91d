// `bun bench/venue-tick.micro.ts [--node-report-us N] [resting orders...]` (default 2000 20000;
// N default 0): how long one tick of
// the simulated venue holds the node's main thread, with that many resting limit orders spread
// over the default symbols, both sides, one to ten price ticks from the touch, so that as the
// market walks some trade on every tick.
//   in process: the SimulatedVenue on the main thread, as oms node ran it before: tick() and the
//     delivery of its reports to the node's listener, timed together.
//   thread:     the ThreadVenue oms node runs now: on the main thread a tick costs only the
//     messages that bring its reports (at most 12 each) and quotes: reading each (structured
//     clone) and its handler. A message is read before its handler runs, out of reach of a
//     timer, so the messages of TICKS ticks are captured and then replayed through a
//     MessageChannel, read with receiveMessageOnPort (synchronous) and handed to the same
//     handler, timed together.
// With --node-report-us, the node's listener spins that long on each report, standing in for the
// node's own handling of it (~17 µs: decide, apply, append, measured on a node in process), so
// the holds show what the node's thread spends on a tick, not only the venue's share.
// Also the main thread's time to place the orders (the submit calls, until their arrival is
// worked in process; until they are posted for the thread). Wall time (a hold is what orders
// wait behind; this machine's per-thread CPU clocks move in 4 ms jiffies), so other processes
// on the shared cores can lengthen the tails: the variants run back to back, interleaved.
import { parseArgs } from "node:util";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { priceTick } from "../src/core/price-rules.ts";
import { SimulatedVenue } from "../src/venue/simulated-venue.ts";
import { ThreadVenue } from "../src/venue/thread-venue.ts";
import type { Venue, VenueOrder } from "../src/venue/venue.ts";

const SEED = 42;
const TICKS = 100;
/** The thread's tick interval here: long enough that the orders are placed before its first tick. */
const THREAD_TICK_MS = 50;
const PASSES = 2;
const LEVELS = 10;

interface Run {
  /** Each hold: a tick in process, a message from the thread. */
  ticksUs: number[];
  reports: number;
  placeUs: number;
}

type Handler = (this: Worker, event: MessageEvent) => unknown;

/** The venue thread's messages as they reached the node's side, and the handler they reached. */
const captured: { worker: Worker; handler: Handler; data: unknown }[] = [];
const NativeWorker = globalThis.Worker;
class CapturingWorker extends NativeWorker {
  override set onmessage(handler: Handler | null) {
    super.onmessage =
      handler === null
        ? null
        : function (this: Worker, event: MessageEvent) {
            captured.push({ worker: this, handler, data: event.data });
            handler.call(this, event);
          };
  }
  override get onmessage(): Handler | null {
    return super.onmessage;
  }
}
globalThis.Worker = CapturingWorker;

function restingOrders(venue: Venue, count: number): VenueOrder[] {
  const symbols = venue.symbols();
  const orders: VenueOrder[] = [];
  for (let i = 0; i < count; i++) {
    const symbol = symbols[i % symbols.length] as string;
    const quote = venue.quote(symbol);
    if (quote === undefined) throw new Error(`no quote for ${symbol}`);
    const side = Math.floor(i / symbols.length) % 2 === 0 ? "buy" : "sell";
    const away = BigInt(Math.floor(i / (2 * symbols.length)) % LEVELS) * priceTick(quote.bid);
    const limitPrice = side === "buy" ? quote.bid - away : quote.ask + away;
    orders.push({
      orderId: `o${i}`,
      accountId: `a${i % 100}`,
      symbol,
      side,
      type: "limit",
      timeInForce: "gtc",
      qty: BigInt(1 + ((i * 7919) % 100)),
      limitPrice,
      stopPrice: null,
      collarPrice: side === "buy" ? limitPrice : null,
      lastExecutionSeq: 0,
    });
  }
  return orders;
}

/** The node's handling of one report, stood in for by a spin (--node-report-us). */
let nodeReportMs = 0;

function nodeHandles(): void {
  const started = performance.now();
  while (performance.now() - started < nodeReportMs) {
    // spinning: the node's thread is busy with the report
  }
}

function microsSince(startedMs: number): number {
  return (performance.now() - startedMs) * 1000;
}

async function inProcess(count: number): Promise<Run> {
  const venue = new SimulatedVenue({ seed: SEED, now: Date.now, manual: true });
  let reports = 0;
  venue.onReport(() => {
    reports += 1;
    nodeHandles();
  });
  const orders = restingOrders(venue, count);
  let started = performance.now();
  for (const order of orders) venue.submit(order);
  await null; // the venue works the arrivals in a microtask, before anything else may run
  const placeUs = microsSince(started);
  await new Promise((resolve) => setImmediate(resolve));
  reports = 0;
  const ticksUs: number[] = [];
  for (let tick = 0; tick < TICKS; tick++) {
    started = performance.now();
    venue.tick();
    await null; // and delivers the tick's reports in the next: both hold the thread
    await null;
    ticksUs.push(microsSince(started));
    await new Promise((resolve) => setImmediate(resolve));
  }
  venue.close();
  return { ticksUs, reports, placeUs };
}

async function onThread(count: number): Promise<Run> {
  const venue = await ThreadVenue.start({
    seed: SEED,
    tickMs: THREAD_TICK_MS,
    onFailure: (error) => {
      throw error;
    },
  });
  let reports = 0;
  venue.onReport(() => {
    reports += 1;
    nodeHandles();
  });
  const orders = restingOrders(venue, count);
  const started = performance.now();
  for (const order of orders) venue.submit(order);
  await null; // the calls of this turn leave in one message
  const placeUs = microsSince(started);
  // The answers to the placement (fills on arrival) come before the first tick.
  await Bun.sleep(THREAD_TICK_MS / 2);
  captured.length = 0;
  reports = 0;
  // A tick's reports come a bounded slice a message (report-outbox.ts): each message is a hold.
  await Bun.sleep(TICKS * THREAD_TICK_MS);
  const messages = captured.splice(0, captured.length);
  const reportsSeen = reports;
  const { port1, port2 } = new MessageChannel();
  const ticksUs: number[] = [];
  for (const { worker, handler, data } of messages) {
    port1.postMessage(data);
    const replayStarted = performance.now();
    const received = receiveMessageOnPort(port2);
    handler.call(worker, new MessageEvent("message", { data: received?.message }));
    ticksUs.push(microsSince(replayStarted));
  }
  port1.close();
  venue.close();
  await venue.stopped;
  return { ticksUs, reports: reportsSeen, placeUs };
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

function line(name: string, runs: readonly Run[]): string {
  const ticksUs = runs.flatMap((run) => run.ticksUs).sort((a, b) => a - b);
  const us = (value: number) => `${value.toFixed(0)} µs`;
  const reportsPerTick = runs.reduce((total, run) => total + run.reports, 0) / (runs.length * TICKS);
  const placeUs = Math.min(...runs.map((run) => run.placeUs));
  const holds = `p50 ${us(percentile(ticksUs, 0.5))}, p99 ${us(percentile(ticksUs, 0.99))}, max ${us(ticksUs.at(-1) ?? Number.NaN)}`;
  const holdsPerTick = ticksUs.length / (runs.length * TICKS);
  const each = holdsPerTick === 1 ? "per tick" : `per message (${holdsPerTick.toFixed(1)} a tick)`;
  return `  ${name.padEnd(10)} main thread held ${each} ${holds}; ${reportsPerTick.toFixed(1)} reports a tick; placing the orders ${(placeUs / 1000).toFixed(1)} ms`;
}

const { values: options, positionals } = parseArgs({ args: process.argv.slice(2), options: { "node-report-us": { type: "string", default: "0" } }, allowPositionals: true });
const counts = positionals.map(Number);
nodeReportMs = Number(options["node-report-us"]) / 1000;
if (nodeReportMs > 0) console.log(`the node's listener spins ${options["node-report-us"]} µs on each report`);
for (const count of counts.length > 0 ? counts : [2_000, 20_000]) {
  const before: Run[] = [];
  const after: Run[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    before.push(await inProcess(count));
    after.push(await onThread(count));
  }
  console.log(`${count.toLocaleString("en-US")} resting orders, ${TICKS} ticks × ${PASSES} interleaved passes:`);
  console.log(line("in process", before));
  console.log(line("thread", after));
}
