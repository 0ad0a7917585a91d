// The venue that ships with oms: `oms dev` runs one for each node, on a thread of its own
// (thread-venue.ts); the simulation and the tests run it in process. It works orders against
// a seeded random-walk market, so a seed and the calls made replay the same fills exactly.
//
// Every call is queued and handled in a microtask, and every report is delivered in a later
// microtask: the listener never runs inside the call that caused it, as a real venue's
// reports never arrive on the request's stack.
import type { Execution } from "../core/command.ts";
import type { Price, Qty } from "../core/money.ts";
import { DEFAULT_LISTINGS, type Listing } from "./default-listings.ts";
import { invariant } from "./invariant.ts";
import { PriceLadder } from "./price-ladder.ts";
import { QuoteFeed, type TopOfBook } from "./quote-feed.ts";
import { seededRandom } from "./seeded-random.ts";
import type { Quote, Venue, VenueOrder, VenueReport } from "./venue.ts";
import { checkOrderCall, checkReconcileCall, checkReplaceCall } from "./venue-call-checks.ts";
import {
  effectiveLimitPrice,
  fillableQty,
  marketablePrice,
  stopReached,
  workingOrderOf,
  type WorkingOrder,
} from "./working-order.ts";

export interface SimulatedVenueOptions {
  seed: number;
  symbols?: readonly Listing[];
  /** How often the market moves and resting orders are worked; default 100 ms. */
  tickMs?: number;
  /** Length of a simulated trading session; DAY orders expire at its close. Default 10 minutes. */
  sessionMs?: number;
  now: () => number;
  /** No timers at all: the caller drives tick() and closeSession(). */
  manual?: boolean;
  /** Runs after each timer-driven tick or session close: the venue thread sends the node its outcome then. */
  afterTimer?: (timer: VenueTimer) => void;
}

/** What the venue's timers do: move the market and work resting orders, or end the session. */
export type VenueTimer = "tick" | "session";

const TICK_MS_DEFAULT = 100;
const SESSION_MS_DEFAULT = 10 * 60_000;
/** At this many working orders new ones are rejected: memory stays bounded whatever clients send. */
const WORKING_ORDERS_MAX = 1_000_000;
/** Calls queued between two microtasks; more means a caller loops without yielding (a bug). */
const INSTRUCTIONS_QUEUED_MAX = 1_000_000;
/** Reports held while no listener is registered; more means the venue was never wired up. */
const REPORTS_UNHEARD_MAX = 100_000;

/**
 * The resting orders of one side of one symbol, kept so that a tick looks only at the orders
 * that can trade or trigger now. Every working order rests in exactly one of the three.
 */
interface SideOrders {
  /** Orders that take any price (market sells, market buys with no collar, triggered stops of those), in arrival order; they trade first. */
  readonly anyPrice: Map<string, WorkingOrder>;
  /** Orders with a worst accepted price (limits, collared market buys, triggered stop-limits), ranked by it, then by arrival. */
  readonly priced: PriceLadder<WorkingOrder>;
  /** Stops not yet triggered, nearest to triggering first: buy stops lowest first, sell stops highest first. */
  readonly stops: PriceLadder<WorkingOrder>;
}

interface SymbolOrders {
  readonly buy: SideOrders;
  readonly sell: SideOrders;
}

type Instruction =
  | { kind: "submit"; order: VenueOrder }
  | { kind: "cancel"; orderId: string }
  | { kind: "replace"; orderId: string; replacement: VenueOrder; expectedFilledQty: Qty }
  | { kind: "reconcile"; openOrders: readonly VenueOrder[] };

export class SimulatedVenue implements Venue {
  readonly #feed: QuoteFeed;
  readonly #now: () => number;
  /** Every working order by id: cancel, replace, reconcile and the session close find them here. */
  readonly #working = new Map<string, WorkingOrder>();
  /** The same orders by symbol and side in priority order; ticks look only at their fronts. */
  readonly #resting = new Map<string, SymbolOrders>();
  readonly #instructions: Instruction[] = [];
  readonly #reports: VenueReport[] = [];
  readonly #listeners: ((report: VenueReport) => void)[] = [];
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #instructionsScheduled = false;
  #reportsScheduled = false;
  #closed = false;
  #ordersExaminedLastTick = 0;
  #ordersExaminedMax = 0;

  constructor(options: SimulatedVenueOptions) {
    const tickMs = options.tickMs ?? TICK_MS_DEFAULT;
    const sessionMs = options.sessionMs ?? SESSION_MS_DEFAULT;
    invariant(Number.isSafeInteger(tickMs) && tickMs > 0, `tickMs ${tickMs} is a positive integer`);
    invariant(Number.isSafeInteger(sessionMs) && sessionMs > 0, `sessionMs ${sessionMs} is a positive integer`);
    this.#feed = new QuoteFeed(options.symbols ?? DEFAULT_LISTINGS, seededRandom(options.seed));
    this.#now = options.now;
    for (const symbol of this.#feed.symbols()) this.#resting.set(symbol, { buy: sideOrdersOf("buy"), sell: sideOrdersOf("sell") });
    if (options.manual !== true) {
      // Unreferenced: the venue alone never keeps a process alive; the node's server does.
      const afterTimer = options.afterTimer;
      const tick = (): void => {
        this.tick();
        afterTimer?.("tick");
      };
      const closeSession = (): void => {
        this.closeSession();
        afterTimer?.("session");
      };
      this.#timers.push(setInterval(tick, tickMs).unref());
      this.#timers.push(setInterval(closeSession, sessionMs).unref());
    }
  }

  symbols(): readonly string[] {
    return this.#feed.symbols();
  }

  quote(symbol: string): Quote | undefined {
    return this.#feed.quote(symbol);
  }

  submit(order: VenueOrder): void {
    checkOrderCall(order, this.#closed);
    this.#enqueue({ kind: "submit", order });
  }

  cancel(orderId: string): void {
    this.#enqueue({ kind: "cancel", orderId });
  }

  replace(orderId: string, replacement: VenueOrder, expectedFilledQty: Qty): void {
    checkReplaceCall(replacement, expectedFilledQty, this.#closed);
    this.#enqueue({ kind: "replace", orderId, replacement, expectedFilledQty });
  }

  reconcile(openOrders: readonly VenueOrder[]): void {
    checkReconcileCall(openOrders, this.#closed);
    this.#enqueue({ kind: "reconcile", openOrders: [...openOrders] });
  }

  onReport(listener: (report: VenueReport) => void): void {
    this.#listeners.push(listener);
    if (this.#reports.length > 0) this.#scheduleReports();
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  /**
   * One step of the market: quotes move, stops the move reaches trigger, then each side of
   * each symbol fills its resting orders in priority order (any-price orders first, then the
   * best prices, first come first served at a price) until the displayed size is gone or the
   * next order may not trade. The cost follows the orders that trade, not the orders resting.
   */
  tick(): void {
    this.#feed.step();
    this.#ordersExaminedLastTick = 0;
    // A tick looks at a stop when it triggers and again when it fills, at every other order
    // once per fill, and at one more order per queue where it stops; past that it would be looping.
    this.#ordersExaminedMax = 2 * this.#working.size + 4 * this.#resting.size;
    for (const [symbol, orders] of this.#resting) {
      const book = this.#feed.book(symbol);
      invariant(book !== undefined, `book of ${symbol} exists`);
      this.#workSide(orders.buy, book);
      this.#workSide(orders.sell, book);
    }
    this.#checkRestingCount();
  }

  /** For tests and diagnostics: how many working orders the last tick looked at. */
  get ordersExaminedLastTick(): number {
    return this.#ordersExaminedLastTick;
  }

  /** The session ends: every working DAY order expires; GTC orders rest into the next one. */
  closeSession(): void {
    for (const work of this.#working.values()) {
      if (work.order.timeInForce !== "day") continue;
      this.#working.delete(work.order.orderId);
      this.#unrest(work);
      this.#report(work.order, { kind: "expired" });
    }
  }

  #enqueue(instruction: Instruction): void {
    invariant(!this.#closed, `no ${instruction.kind} reaches a closed venue`);
    invariant(this.#instructions.length < INSTRUCTIONS_QUEUED_MAX, "venue instruction queue within its bound");
    this.#instructions.push(instruction);
    if (this.#instructionsScheduled) return;
    this.#instructionsScheduled = true;
    queueMicrotask(() => this.#drainInstructions());
  }

  #drainInstructions(): void {
    this.#instructionsScheduled = false;
    // Instructions are handled in the order the calls were made, as a venue session would.
    for (let index = 0; index < this.#instructions.length; index++) {
      const instruction = this.#instructions[index];
      invariant(instruction !== undefined, "queued instruction exists");
      this.#handle(instruction);
    }
    this.#instructions.length = 0;
  }

  #handle(instruction: Instruction): void {
    switch (instruction.kind) {
      case "submit":
        return this.#arrive(instruction.order, 0n);
      case "cancel":
        return this.#cancel(instruction.orderId);
      case "replace":
        return this.#replace(instruction.orderId, instruction.replacement, instruction.expectedFilledQty);
      case "reconcile":
        for (const order of instruction.openOrders) {
          // An order still working here is already being worked as it is; adopting it again
          // would fill its shares twice.
          if (!this.#working.has(order.orderId)) this.#arrive(order, null);
        }
        return;
    }
  }

  /** A new order is worked at once; IOC and FOK orders end on arrival, whatever happens. */
  #arrive(order: VenueOrder, executedBeforeQty: Qty | null): void {
    invariant(!this.#working.has(order.orderId), `order ${order.orderId} is not already working`);
    const book = this.#feed.book(order.symbol);
    if (book === undefined) return this.#report(order, { kind: "rejected", reason: `unknown symbol ${order.symbol}` });
    if (this.#working.size >= WORKING_ORDERS_MAX) {
      return this.#report(order, { kind: "rejected", reason: "venue is working its maximum number of orders" });
    }
    const work = workingOrderOf(order, executedBeforeQty);
    if (order.timeInForce === "fok") return this.#fillOrKill(work);
    this.#working.set(order.orderId, work);
    this.#work(work);
    if (work.leavesQty === 0n) return;
    if (order.timeInForce === "ioc") {
      this.#working.delete(order.orderId);
      return this.#report(order, { kind: "canceled", reason: "ioc remainder" });
    }
    this.#rest(work);
  }

  #fillOrKill(work: WorkingOrder): void {
    const book = this.#feed.book(work.order.symbol);
    invariant(book !== undefined, `book of ${work.order.symbol} exists`);
    work.stopTriggered = stopReached(work.order, book);
    const price = marketablePrice(work, book);
    if (price === null || fillableQty(work, book) < work.leavesQty) {
      return this.#report(work.order, { kind: "canceled", reason: "fok not fillable" });
    }
    this.#fill(work, work.leavesQty, price);
  }

  /**
   * An arriving order trades what it can take from the top of book now, if anything. It jumps
   * no queue: between ticks a side either shows no shares or has no resting order that may
   * trade, because the last tick or arrival that left one resting used up what was shown.
   */
  #work(work: WorkingOrder): void {
    const book = this.#feed.book(work.order.symbol);
    invariant(book !== undefined, `book of ${work.order.symbol} exists`);
    if (!work.stopTriggered && stopReached(work.order, book)) work.stopTriggered = true;
    const price = marketablePrice(work, book);
    if (price === null) return;
    const qty = fillableQty(work, book);
    if (qty > 0n) this.#fill(work, qty, price);
  }

  #fill(work: WorkingOrder, qty: Qty, price: Price): void {
    const { order } = work;
    invariant(qty > 0n && qty <= work.leavesQty, `fill of ${qty} fits order ${order.orderId} (leaves ${work.leavesQty})`);
    invariant(order.side === "sell" || order.collarPrice === null || price <= order.collarPrice, `buy ${order.orderId} fills within its collar`);
    this.#feed.take(order.symbol, order.side, qty);
    this.#feed.recordTrade(order.symbol, price);
    work.leavesQty -= qty;
    work.executedHereQty += qty;
    work.lastExecutionSeq += 1;
    if (work.leavesQty === 0n) this.#working.delete(order.orderId);
    this.#report(order, { kind: "fill", seq: work.lastExecutionSeq, qty, price });
  }

  #cancel(orderId: string): void {
    const work = this.#working.get(orderId);
    // Unknown or finished: whatever finished it has been reported already.
    if (work === undefined) return;
    this.#working.delete(orderId);
    this.#unrest(work);
    this.#report(work.order, { kind: "canceled", reason: "canceled by client" });
  }

  #replace(orderId: string, replacement: VenueOrder, expectedFilledQty: Qty): void {
    const old = this.#working.get(orderId);
    const refuse = (reason: string): void => {
      const order = old?.order ?? { accountId: replacement.accountId, orderId };
      this.#report(order, { kind: "replace_rejected", newOrderId: replacement.orderId, reason });
    };
    if (old === undefined) return refuse("order is not working at the venue (filled, canceled, expired or unknown)");
    const { order } = old;
    // As at a real venue, a replace changes price, qty and time in force, never what is traded.
    if (replacement.accountId !== order.accountId || replacement.symbol !== order.symbol || replacement.side !== order.side) {
      return refuse("a replacement must keep the order's account, symbol and side");
    }
    if (replacement.orderId === orderId || this.#working.has(replacement.orderId)) {
      return refuse(`order id ${replacement.orderId} is already working`);
    }
    const mismatch = executedQtyMismatch(old, expectedFilledQty);
    if (mismatch !== null) return refuse(mismatch);
    this.#working.delete(orderId);
    this.#unrest(old);
    this.#report(order, { kind: "replaced", newOrderId: replacement.orderId });
    this.#arrive(replacement, 0n);
  }

  #workSide(orders: SideOrders, book: TopOfBook): void {
    // Triggered first, so that a stop the move reaches trades in this same tick.
    for (let work = orders.stops.first(); work !== undefined; work = orders.stops.first()) {
      this.#examine();
      if (!stopReached(work.order, book)) break;
      this.#unrest(work);
      work.stopTriggered = true;
      this.#rest(work);
    }
    for (;;) {
      const work = firstOf(orders.anyPrice) ?? orders.priced.first();
      if (work === undefined) return;
      this.#examine();
      // The ladder ranks by the worst price accepted: if the first may not trade, none behind it may.
      const price = marketablePrice(work, book);
      if (price === null) {
        invariant(!orders.anyPrice.has(work.order.orderId), `order ${work.order.orderId} that takes any price may trade`);
        return;
      }
      const qty = fillableQty(work, book);
      if (qty === 0n) return;
      // Each pass fills the order whole (it leaves the front) or takes all that is shown (the next pass stops).
      this.#fill(work, qty, price);
      if (work.leavesQty === 0n) this.#unrest(work);
    }
  }

  #examine(): void {
    this.#ordersExaminedLastTick += 1;
    invariant(this.#ordersExaminedLastTick <= this.#ordersExaminedMax, `a tick looks at most ${this.#ordersExaminedMax} times at its orders`);
  }

  /** Puts a working order where its type, stop state and price say it waits. */
  #rest(work: WorkingOrder): void {
    const { order } = work;
    const orders = this.#sideOrdersOf(order);
    if (isUntriggeredStop(work)) return orders.stops.add(stopPriceOf(order), order.orderId, work);
    const limitPrice = effectiveLimitPrice(order);
    if (limitPrice === null) {
      orders.anyPrice.set(order.orderId, work);
      return;
    }
    orders.priced.add(limitPrice, order.orderId, work);
  }

  /** Takes a working order from where it waits; it must be there. */
  #unrest(work: WorkingOrder): void {
    const { order } = work;
    const orders = this.#sideOrdersOf(order);
    let removed: boolean;
    if (isUntriggeredStop(work)) removed = orders.stops.remove(stopPriceOf(order), order.orderId);
    else {
      const limitPrice = effectiveLimitPrice(order);
      removed = limitPrice === null ? orders.anyPrice.delete(order.orderId) : orders.priced.remove(limitPrice, order.orderId);
    }
    invariant(removed, `working order ${order.orderId} was resting where its state says`);
  }

  #sideOrdersOf(order: VenueOrder): SideOrders {
    const symbolOrders = this.#resting.get(order.symbol);
    invariant(symbolOrders !== undefined, `resting orders of ${order.symbol} exist`);
    return order.side === "buy" ? symbolOrders.buy : symbolOrders.sell;
  }

  /** Every working order rests in exactly one place: a count that differs means one was lost or doubled. */
  #checkRestingCount(): void {
    let restingCount = 0;
    for (const orders of this.#resting.values()) {
      for (const side of [orders.buy, orders.sell]) restingCount += side.anyPrice.size + side.priced.size + side.stops.size;
    }
    invariant(restingCount === this.#working.size, `${restingCount} resting orders are the ${this.#working.size} working`);
  }

  #report(order: Pick<VenueOrder, "accountId" | "orderId">, execution: Execution): void {
    invariant(this.#reports.length < REPORTS_UNHEARD_MAX, "venue reports are being heard (is a listener registered?)");
    this.#reports.push({ accountId: order.accountId, orderId: order.orderId, execution, atMs: this.#now() });
    if (this.#listeners.length > 0) this.#scheduleReports();
  }

  #scheduleReports(): void {
    if (this.#reportsScheduled) return;
    this.#reportsScheduled = true;
    queueMicrotask(() => this.#deliverReports());
  }

  #deliverReports(): void {
    this.#reportsScheduled = false;
    // Held until someone listens: a report dropped on the floor would be a fill the OMS never books.
    if (this.#listeners.length === 0) return;
    const reports = this.#reports.splice(0, this.#reports.length);
    for (const report of reports) {
      for (const listener of this.#listeners) listener(report);
    }
  }
}

function sideOrdersOf(side: "buy" | "sell"): SideOrders {
  return {
    anyPrice: new Map(),
    // A buy trades sooner the more it pays and a buy stop triggers sooner the lower it is; a sell the other way round.
    priced: new PriceLadder(side === "buy" ? "higher" : "lower"),
    stops: new PriceLadder(side === "buy" ? "lower" : "higher"),
  };
}

function firstOf(orders: Map<string, WorkingOrder>): WorkingOrder | undefined {
  return orders.size === 0 ? undefined : orders.values().next().value;
}

function isUntriggeredStop(work: WorkingOrder): boolean {
  return (work.order.type === "stop" || work.order.type === "stop_limit") && !work.stopTriggered;
}

function stopPriceOf(order: VenueOrder): Price {
  invariant(order.stopPrice !== null, `stop order ${order.orderId} has a stop price`);
  return order.stopPrice;
}

/**
 * Null when the order's executed qty is what the OMS expects; else why the replace is refused.
 * An order adopted by reconcile carries no executed qty, only what is left: the venue takes the
 * OMS's word for the fills before adoption as long as it has filled nothing since (every fill
 * comes from here, so the OMS cannot then be behind), and refuses once it has, because it
 * could not tell a fill the OMS has booked from one still on its way.
 */
function executedQtyMismatch(work: WorkingOrder, expectedFilledQty: Qty): string | null {
  if (work.executedBeforeQty === null) {
    if (work.executedHereQty === 0n) return null;
    return `order filled ${work.executedHereQty} shares since the venue took it back after a restart; its executed qty is not known exactly`;
  }
  const executedQty = work.executedBeforeQty + work.executedHereQty;
  if (executedQty === expectedFilledQty) return null;
  return `order has executed ${executedQty} shares, not the ${expectedFilledQty} expected`;
}
