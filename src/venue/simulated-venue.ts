// The venue that ships with oms: `oms dev` runs it inside each node. It works orders against
// a seeded random-walk market, so a seed and the calls made replay the same fills exactly.
//
// Every call is queued and handled in a microtask, and every report is delivered in a later
// microtask: the listener never runs inside the call that caused it, as a real venue's
// reports never arrive on the request's stack.
import type { Execution } from "../core/command.ts";
import type { Price, Qty } from "../core/money.ts";
import { DEFAULT_LISTINGS, type Listing } from "./default-listings.ts";
import { invariant } from "./invariant.ts";
import { QuoteFeed } from "./quote-feed.ts";
import { seededRandom } from "./seeded-random.ts";
import type { Quote, Venue, VenueOrder, VenueReport } from "./venue.ts";
import {
  fillableQty,
  marketablePrice,
  stopReached,
  venueOrderProblem,
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
}

const TICK_MS_DEFAULT = 100;
const SESSION_MS_DEFAULT = 10 * 60_000;
/** At this many working orders new ones are rejected: memory stays bounded whatever clients send. */
const WORKING_ORDERS_MAX = 1_000_000;
/** Calls queued between two microtasks; more means a caller loops without yielding (a bug). */
const INSTRUCTIONS_QUEUED_MAX = 1_000_000;
/** Reports held while no listener is registered; more means the venue was never wired up. */
const REPORTS_UNHEARD_MAX = 100_000;

type Instruction =
  | { kind: "submit"; order: VenueOrder }
  | { kind: "cancel"; orderId: string }
  | { kind: "replace"; orderId: string; replacement: VenueOrder; expectedFilledQty: Qty }
  | { kind: "reconcile"; openOrders: readonly VenueOrder[] };

export class SimulatedVenue implements Venue {
  readonly #feed: QuoteFeed;
  readonly #now: () => number;
  /** Orders in arrival order: each tick works them first come, first served. */
  readonly #working = new Map<string, WorkingOrder>();
  readonly #instructions: Instruction[] = [];
  readonly #reports: VenueReport[] = [];
  readonly #listeners: ((report: VenueReport) => void)[] = [];
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #instructionsScheduled = false;
  #reportsScheduled = false;
  #closed = false;

  constructor(options: SimulatedVenueOptions) {
    const tickMs = options.tickMs ?? TICK_MS_DEFAULT;
    const sessionMs = options.sessionMs ?? SESSION_MS_DEFAULT;
    invariant(Number.isSafeInteger(tickMs) && tickMs > 0, `tickMs ${tickMs} is a positive integer`);
    invariant(Number.isSafeInteger(sessionMs) && sessionMs > 0, `sessionMs ${sessionMs} is a positive integer`);
    this.#feed = new QuoteFeed(options.symbols ?? DEFAULT_LISTINGS, seededRandom(options.seed));
    this.#now = options.now;
    if (options.manual !== true) {
      // Unreferenced: the venue alone never keeps a process alive; the node's server does.
      this.#timers.push(setInterval(() => this.tick(), tickMs).unref());
      this.#timers.push(setInterval(() => this.closeSession(), sessionMs).unref());
    }
  }

  symbols(): readonly string[] {
    return this.#feed.symbols();
  }

  quote(symbol: string): Quote | undefined {
    return this.#feed.quote(symbol);
  }

  submit(order: VenueOrder): void {
    this.#checkOrder(order);
    this.#enqueue({ kind: "submit", order });
  }

  cancel(orderId: string): void {
    this.#enqueue({ kind: "cancel", orderId });
  }

  replace(orderId: string, replacement: VenueOrder, expectedFilledQty: Qty): void {
    this.#checkOrder(replacement);
    invariant(expectedFilledQty >= 0n, `expectedFilledQty ${expectedFilledQty} is not negative`);
    this.#enqueue({ kind: "replace", orderId, replacement, expectedFilledQty });
  }

  reconcile(openOrders: readonly VenueOrder[]): void {
    const orderIds = new Set<string>();
    for (const order of openOrders) {
      this.#checkOrder(order);
      invariant(!orderIds.has(order.orderId), `order ${order.orderId} is listed once in a reconcile`);
      orderIds.add(order.orderId);
    }
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

  /** One step of the market: quotes move, then every working order gets its chance to trade. */
  tick(): void {
    this.#feed.step();
    // Deleting the entry being visited is safe in a Map's for-of; nothing is added meanwhile.
    for (const work of this.#working.values()) this.#work(work);
  }

  /** The session ends: every working DAY order expires; GTC orders rest into the next one. */
  closeSession(): void {
    for (const work of this.#working.values()) {
      if (work.order.timeInForce !== "day") continue;
      this.#working.delete(work.order.orderId);
      this.#report(work.order, { kind: "expired" });
    }
  }

  #checkOrder(order: VenueOrder): void {
    invariant(!this.#closed, `no order reaches a closed venue (order ${order.orderId})`);
    const problem = venueOrderProblem(order);
    invariant(problem === null, `order ${order.orderId} is well formed: ${problem}`);
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
    if (order.timeInForce === "ioc" && this.#working.delete(order.orderId)) {
      this.#report(order, { kind: "canceled", reason: "ioc remainder" });
    }
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

  /** Trades what the order can take from the top of book now, if anything. */
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
    this.#report(order, { kind: "replaced", newOrderId: replacement.orderId });
    this.#arrive(replacement, 0n);
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
