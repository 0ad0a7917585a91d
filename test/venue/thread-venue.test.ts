// The venue oms node runs, seen through the Venue interface: the SimulatedVenue on its own
// thread. Same seed and calls, same reports as the venue in process; the market moves on the
// thread's ticks and quote() follows; a broken invariant in the thread reaches the node;
// close() stops the thread.
import { afterEach, describe, expect, test } from "bun:test";
import { mainThreadWorkSeconds } from "../../src/metrics/main-thread-work.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import { ThreadVenue, type ThreadVenueOptions } from "../../src/venue/thread-venue.ts";
import { REPORTS_PER_MESSAGE_MAX } from "../../src/venue/venue-thread-messages.ts";
import type { Venue, VenueReport } from "../../src/venue/venue.ts";
import { dollars, fillsOf, settle, venueOrder } from "./venue-harness.ts";

const LISTINGS = [{ symbol: "AAPL", price: dollars(100) }];
/** No tick nor session close within a test: the market stands still unless a test asks it to move. */
const STILL = { tickMs: 3_600_000, sessionMs: 3_600_000 };
/** Bounded waits for the thread: a slow machine only makes them wait longer, never fail. */
const WAIT_STEPS_MAX = 800;
const WAIT_STEP_MS = 5;

const started: ThreadVenue[] = [];
const failures: Error[] = [];

afterEach(async () => {
  for (const venue of started.splice(0)) {
    venue.close();
    await venue.stopped;
  }
  failures.length = 0;
});

async function threadVenue(settings: Partial<ThreadVenueOptions> = {}): Promise<ThreadVenue> {
  const venue = await ThreadVenue.start({ seed: 7, symbols: LISTINGS, ...STILL, onFailure: (error) => failures.push(error), ...settings });
  started.push(venue);
  return venue;
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let step = 0; step < WAIT_STEPS_MAX && !done(); step++) await Bun.sleep(WAIT_STEP_MS);
  if (!done()) throw new Error(`still waiting for ${what}`);
}

/** One script of every kind of call, with the reports each venue sent, without their clock. */
async function runScript(venue: Venue, settled: (reports: VenueReport[], count: number) => Promise<void>): Promise<unknown[]> {
  const reports: VenueReport[] = [];
  venue.onReport((report) => reports.push(report));
  const ask = venue.quote("AAPL")?.ask ?? -1n;
  const resting = { side: "buy", type: "limit", limitPrice: ask - dollars(5), collarPrice: ask - dollars(5) } as const;
  venue.submit(venueOrder({ orderId: "market", side: "buy", qty: 10n }));
  venue.submit(venueOrder({ ...resting, orderId: "rest-a", qty: 20n }));
  venue.submit(venueOrder({ ...resting, orderId: "rest-b", qty: 30n }));
  venue.submit(venueOrder({ orderId: "ioc", side: "sell", qty: 5_000n, timeInForce: "ioc" }));
  venue.cancel("rest-a");
  venue.replace("rest-b", venueOrder({ ...resting, orderId: "rest-b2", qty: 25n }), 0n);
  venue.replace("market", venueOrder({ orderId: "market-2", side: "buy", qty: 1n }), 10n);
  expect(reports).toHaveLength(0);
  await settled(reports, 6);
  venue.reconcile([venueOrder({ orderId: "adopted", side: "buy", qty: 3n, lastExecutionSeq: 4 }), venueOrder({ ...resting, orderId: "rest-b2", qty: 25n })]);
  venue.cancel("never-heard-of");
  await settled(reports, 7);
  return reports.map(({ atMs: _, ...report }) => report);
}

describe("ThreadVenue", () => {
  test("the same seed and calls give the reports the venue gives in process, never on the caller's stack", async () => {
    const inProcess = new SimulatedVenue({ seed: 7, symbols: LISTINGS, now: () => 0, manual: true });
    const expected = await runScript(inProcess, () => settle());
    const onThread = await threadVenue();
    const reports = await runScript(onThread, async (reports, count) => {
      await until(`${count} reports`, () => reports.length >= count);
      // Room for a report too many to arrive and be seen.
      await Bun.sleep(20);
    });
    expect(expected.map((report) => (report as VenueReport).execution.kind)).toEqual(["fill", "fill", "canceled", "canceled", "replaced", "replace_rejected", "fill"]);
    expect(reports).toEqual(expected);
    expect(failures).toEqual([]);
  });

  test("quote() answers at once with the quote the thread last sent: a fill moves the last price", async () => {
    const venue = await threadVenue();
    const ticksTimed = mainThreadWorkSeconds.cell("venue_tick").count;
    expect(venue.symbols()).toEqual(["AAPL"]);
    expect(venue.quote("AAPL")).toEqual({ symbol: "AAPL", bid: dollars(100), ask: dollars(100.01), last: dollars(100) });
    expect(venue.quote("NOPE")).toBeUndefined();
    const reports: VenueReport[] = [];
    venue.onReport((report) => reports.push(report));
    venue.submit(venueOrder({ orderId: "lift", side: "buy", qty: 1n }));
    await until("the fill", () => reports.length === 1);
    expect(venue.quote("AAPL")?.last).toBe(dollars(100.01));
    // The answer to a call is the node's own order flow, not periodic work on its thread.
    expect(mainThreadWorkSeconds.cell("venue_tick").count).toBe(ticksTimed);
  });

  test("the market moves on the thread's ticks: quotes follow, a large order fills tick by tick, each tick timed as the node's venue_tick work", async () => {
    const ticksTimed = mainThreadWorkSeconds.cell("venue_tick").count;
    const venue = await threadVenue({ tickMs: 1 });
    const reports: VenueReport[] = [];
    venue.onReport((report) => reports.push(report));
    const first = venue.quote("AAPL");
    // More than a tick ever shows (at most 10 round lots), so it fills over many ticks.
    venue.submit(venueOrder({ orderId: "big", side: "buy", qty: 20_000n }));
    const filledQty = (): bigint => fillsOf(reports, "big").reduce((total, fill) => total + fill.qty, 0n);
    await until("20,000 shares filled", () => filledQty() === 20_000n);
    const fills = fillsOf(reports, "big");
    expect(fills.length).toBeGreaterThan(1);
    expect(fills.map((fill) => fill.seq)).toEqual(fills.map((_, index) => index + 1));
    await until("a quote move", () => venue.quote("AAPL")?.bid !== first?.bid);
    expect(mainThreadWorkSeconds.cell("venue_tick").count - ticksTimed).toBeGreaterThanOrEqual(fills.length - 1);
  });

  test("the session's close expires DAY orders on the thread, sent a bounded slice a message, each timed as the node's venue_session work", async () => {
    const sessionsTimed = mainThreadWorkSeconds.cell("venue_session").count;
    const venue = await threadVenue({ sessionMs: 200 });
    const reports: VenueReport[] = [];
    venue.onReport((report) => reports.push(report));
    const limitPrice = dollars(90);
    const count = 2 * REPORTS_PER_MESSAGE_MAX + 3;
    const orderIds = Array.from({ length: count }, (_, index) => `day-${index}`);
    for (const orderId of orderIds) venue.submit(venueOrder({ orderId, side: "buy", type: "limit", qty: 1n, limitPrice, collarPrice: limitPrice, timeInForce: "day" }));
    await until("the expiries", () => reports.length === count);
    expect(reports.map((report) => [report.orderId, report.execution.kind])).toEqual(orderIds.map((orderId) => [orderId, "expired"]));
    // Three messages: two full ones, each answered by the node asking for more, and the rest.
    expect(mainThreadWorkSeconds.cell("venue_session").count - sessionsTimed).toBe(3);
  });

  test("reports made before anyone listens are held and delivered to the first listener", async () => {
    const venue = await threadVenue();
    venue.submit(venueOrder({ orderId: "early", side: "buy", qty: 1n }));
    await Bun.sleep(20);
    const reports: VenueReport[] = [];
    venue.onReport((report) => reports.push(report));
    await until("the held report", () => reports.length === 1);
    expect(reports.map((report) => [report.orderId, report.execution.kind])).toEqual([["early", "fill"]]);
  });

  test("a malformed call fails on the caller's stack, as in process", async () => {
    const venue = await threadVenue();
    expect(() => venue.submit(venueOrder({ orderId: "none", side: "buy", qty: 0n }))).toThrow(/order none is well formed: qty 0/);
    const order = venueOrder({ orderId: "twice", side: "buy", qty: 1n });
    expect(() => venue.reconcile([order, order])).toThrow(/listed once/);
    expect(() => venue.replace("x", order, -1n)).toThrow(/expectedFilledQty -1/);
  });

  test("a broken invariant in the thread reaches onFailure; the thread stops and later calls fail", async () => {
    const venue = await threadVenue();
    const limitPrice = dollars(90);
    const resting = venueOrder({ orderId: "dup", side: "buy", type: "limit", qty: 1n, limitPrice, collarPrice: limitPrice });
    // The OMS never sends one order twice; if it did, the venue would work its shares twice.
    venue.submit(resting);
    venue.submit(resting);
    await until("the failure", () => failures.length > 0);
    expect(failures.map((error) => error.message)).toEqual(["venue thread failed: simulated venue invariant broken: order dup is not already working"]);
    expect(failures[0]?.stack).toContain("#arrive");
    await venue.stopped;
    expect(() => venue.cancel("dup")).toThrow(/venue thread failed: .*dup is not already working/);
  });

  test("a venue that cannot start is refused by start, with the reason", async () => {
    await expect(ThreadVenue.start({ seed: 1, tickMs: 0, onFailure: (error) => failures.push(error) })).rejects.toThrow(/tickMs 0 is a positive integer/);
  });

  test("close() sends what was called, stops the thread, and refuses later calls", async () => {
    const venue = await threadVenue();
    venue.onReport(() => {});
    venue.submit(venueOrder({ orderId: "last", side: "buy", qty: 1n }));
    venue.close();
    await venue.stopped;
    expect(() => venue.submit(venueOrder({ orderId: "late", side: "buy", qty: 1n }))).toThrow(/closed venue/);
    expect(() => venue.cancel("last")).toThrow(/closed venue/);
    expect(failures).toEqual([]);
  });
});
