import type { Execution } from "../core/command.ts";
import type { Price, Qty } from "../core/money.ts";
import type { OrderInstructions } from "../core/order.ts";

export interface Quote {
  symbol: string;
  bid: Price;
  ask: Price;
  last: Price;
}

/** An order as the venue works it: only what is left to execute. */
export interface VenueOrder extends OrderInstructions {
  orderId: string;
  accountId: string;
  /** Shares still to execute. */
  qty: Qty;
  /** A buy never fills above this per-share price (the OMS holds cash up to it). */
  collarPrice: Price | null;
  /** Sequence of the last execution already reported for this order (0 for a new one). */
  lastExecutionSeq: number;
}

/** One report from the venue about one order. */
export interface VenueReport {
  accountId: string;
  orderId: string;
  execution: Execution;
  atMs: number;
}

/**
 * An execution venue. Calls return at once; every outcome arrives later, asynchronously,
 * through the report listener (never from inside the call that caused it).
 */
export interface Venue {
  symbols(): readonly string[];
  quote(symbol: string): Quote | undefined;
  submit(order: VenueOrder): void;
  cancel(orderId: string): void;
  /**
   * Swaps a working order for its replacement, only if the old order's executed qty is
   * still expectedFilledQty as the OMS last saw it (else: replace_rejected).
   */
  replace(orderId: string, replacement: VenueOrder, expectedFilledQty: Qty): void;
  /**
   * After a node restart: the orders the OMS's log says are open at this venue. Nothing is
   * sent again. A venue that does not know an order reports it canceled ("unknown at venue")
   * so its hold is released; the simulated venue, which stands in for a venue that lives
   * outside the node and so would have kept working them, takes them back as they were.
   */
  reconcile(openOrders: readonly VenueOrder[]): void;
  onReport(listener: (report: VenueReport) => void): void;
  close(): void;
}
