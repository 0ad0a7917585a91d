// The venue of the simulated world: it lives outside every node, so it outlives their crashes.
// It fills working orders at their limit price when the schedule says so, cancels on request,
// and reports to whichever node listens now; after a restart the node's reconcile lists what
// its log says is open, and the venue sends again every execution the node has not recorded.
// It also watches the node: an order submitted twice, or submitted before the log had it, is a
// violation.
import type { Execution } from "../core/command.ts";
import type { Quote, Venue, VenueOrder, VenueReport } from "../venue/venue.ts";
import type { EventLoop, Owner } from "./event-loop.ts";
import type { LogStorage } from "./sim-log.ts";
import { NETWORK_HOP_MS } from "./sim-log.ts";

export const SIM_SYMBOLS = ["AAA", "BBB"] as const;
/** $100.0000 in the core's units of $0.0001: every symbol trades around it. */
export const SIM_PRICE = 1_000_000n;

interface Working {
  order: VenueOrder;
  filledQty: bigint;
  /** Every execution reported, in order: what reconcile sends again. */
  executions: Execution[];
  closed: boolean;
}

export class SimVenue {
  readonly violations: string[] = [];
  private readonly orders = new Map<string, Working>();
  private readonly submitted = new Set<string>();
  /**
   * The node the venue reports to: the last one to reconcile (a new session begins there).
   * Reports of an order reach it in execution order, as a venue's session guarantees; those
   * on their way to an older session are that session's, lost with it and sent again at the
   * next reconcile.
   */
  private session: Owner | null = null;
  private readonly listeners = new Map<Owner, (report: VenueReport) => void>();
  fills = 0;

  constructor(
    private readonly loop: EventLoop,
    private readonly log: LogStorage,
    private readonly clockMs: () => number,
  ) {}

  /** Total qty the venue has filled of an order (0 if it never heard of it). */
  filledQty(orderId: string): bigint {
    return this.orders.get(orderId)?.filledQty ?? 0n;
  }

  port(owner: Owner): Venue {
    return {
      symbols: () => SIM_SYMBOLS,
      quote: (symbol): Quote | undefined => (SIM_SYMBOLS.includes(symbol as never) ? { symbol, bid: SIM_PRICE, ask: SIM_PRICE, last: SIM_PRICE } : undefined),
      submit: (order) => this.submit(owner, order),
      cancel: (orderId) => this.cancel(orderId),
      replace: (orderId, replacement, expectedFilledQty) => this.replace(owner, orderId, replacement, expectedFilledQty),
      reconcile: (openOrders) => {
        this.session = owner;
        this.reconcile(openOrders);
      },
      onReport: (deliver) => void this.listeners.set(owner, deliver),
      close: () => {},
    };
  }

  /** Fills part or all of up to `count` working orders, picked by `random`. */
  fillSome(random: () => number, count: number): void {
    const working = [...this.orders.values()].filter((order) => !order.closed);
    for (let i = 0; i < count && working.length > 0; i += 1) {
      const [order] = working.splice(Math.floor(random() * working.length), 1) as [Working];
      const left = order.order.qty - order.filledQty;
      const qty = random() < 0.5 ? left : 1n + BigInt(Math.floor(random() * Number(left)));
      order.filledQty += qty;
      order.closed = order.filledQty === order.order.qty;
      const price = order.order.limitPrice ?? SIM_PRICE;
      this.fills += 1;
      this.report(order, { kind: "fill", seq: order.order.lastExecutionSeq + order.executions.length + 1, qty, price });
    }
  }

  private submit(owner: Owner, order: VenueOrder): void {
    if (this.submitted.has(order.orderId)) this.violations.push(`venue: order ${order.orderId} submitted twice (second by ${owner})`);
    if (!this.log.durableOrderIds.has(order.orderId)) this.violations.push(`venue: order ${order.orderId} submitted by ${owner} before the log had it`);
    this.submitted.add(order.orderId);
    this.orders.set(order.orderId, { order, filledQty: 0n, executions: [], closed: false });
  }

  private cancel(orderId: string): void {
    const order = this.orders.get(orderId);
    if (order === undefined || order.closed) return;
    order.closed = true;
    this.report(order, { kind: "canceled", reason: "canceled at the client's request" });
  }

  /**
   * Done only if the old order is working and filled as much as the node thinks. Asked again
   * after a restart (the node cannot know whether it arrived), a replace already done is
   * answered as a reconcile of the replacement: its executions after the replacement's
   * lastExecutionSeq are sent again (reconcile sends the old order's "replaced" again). The
   * node does not list a pending replacement in reconcile, so this is the only way its
   * fills made before the crash reach the ledger (seed 7 found it).
   */
  private replace(owner: Owner, orderId: string, replacement: VenueOrder, expectedFilledQty: bigint): void {
    const known = this.orders.get(replacement.orderId);
    if (known !== undefined) {
      for (const execution of known.executions) {
        if (execution.kind !== "fill" || execution.seq > replacement.lastExecutionSeq) this.report(known, execution, false);
      }
      return;
    }
    if (!this.log.durableOrderIds.has(replacement.orderId)) this.violations.push(`venue: replacement ${replacement.orderId} sent by ${owner} before the log had it`);
    const old = this.orders.get(orderId);
    if (old === undefined || old.closed || old.filledQty !== expectedFilledQty || old.order.symbol !== replacement.symbol || old.order.side !== replacement.side) {
      const reason = old === undefined || old.closed ? "order is not working" : "order was filled meanwhile";
      const target = old ?? { order: replacement, filledQty: 0n, executions: [], closed: true };
      this.report(target, { kind: "replace_rejected", newOrderId: replacement.orderId, reason }, old !== undefined);
      return;
    }
    old.closed = true;
    this.report(old, { kind: "replaced", newOrderId: replacement.orderId });
    this.submitted.add(replacement.orderId);
    this.orders.set(replacement.orderId, { order: replacement, filledQty: 0n, executions: [], closed: false });
  }

  private reconcile(openOrders: readonly VenueOrder[]): void {
    for (const open of openOrders) {
      const known = this.orders.get(open.orderId);
      if (known === undefined) {
        // Accepted in the log, but the node stopped before telling the venue: the venue takes
        // it as the log has it (a reconcile is not a second submit).
        this.submitted.add(open.orderId);
        this.orders.set(open.orderId, { order: open, filledQty: 0n, executions: [], closed: false });
        continue;
      }
      for (const execution of known.executions) {
        if (execution.kind !== "fill" || execution.seq > open.lastExecutionSeq) this.report(known, execution, false);
      }
    }
  }

  private report(order: Working, execution: Execution, record = true): void {
    if (record) order.executions.push(execution);
    const report: VenueReport = { accountId: order.order.accountId, orderId: order.order.orderId, execution, atMs: this.clockMs() };
    const session = this.session;
    if (session === null) return;
    // The node listens from just after its reconcile, before the report arrives.
    this.loop.after(NETWORK_HOP_MS, session, () => this.listeners.get(session)?.(report));
  }
}
