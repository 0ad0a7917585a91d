// What the node's thread and the venue thread say to each other. Few messages, each a batch:
// the calls of one turn of the node's event loop travel together, and the reports of one turn
// of the venue thread (a tick, or the answers to one batch of calls) come back together, up to
// REPORTS_PER_MESSAGE_MAX, with the quotes as they stand. Every value is structured-clonable
// (bigints included).
import type { Qty } from "../core/money.ts";
import type { Listing } from "./default-listings.ts";
import type { VenueTimer } from "./simulated-venue.ts";
import type { Quote, VenueOrder, VenueReport } from "./venue.ts";

/** What made a message's reports: a tick, the session's close, or calls (the node's own order flow). */
export type ReportCause = VenueTimer | "calls";

/**
 * Reports in one message at most. The node spends ~17 µs of its thread on each (a command:
 * decide, apply, append; measured on a node in process, 2,000 session expiries in 35 ms), so a
 * message holds it ~0.2 ms at most, the bound on main-thread work while orders wait.
 */
export const REPORTS_PER_MESSAGE_MAX = 12;

/** What the thread's SimulatedVenue is built with; its clock is the thread's Date.now. */
export interface VenueThreadSettings {
  seed: number;
  symbols?: readonly Listing[];
  tickMs?: number;
  sessionMs?: number;
}

/** One Venue call made on the node's thread, in the order it was made. */
export type VenueCall =
  | { kind: "submit"; order: VenueOrder }
  | { kind: "cancel"; orderId: string }
  | { kind: "replace"; orderId: string; replacement: VenueOrder; expectedFilledQty: Qty }
  | { kind: "reconcile"; openOrders: readonly VenueOrder[] }
  /** The node listens now: reports made before this are held by the venue until then, as in process. */
  | { kind: "listen" };

export type ToVenueThread =
  | { kind: "start"; settings: VenueThreadSettings }
  | { kind: "calls"; calls: readonly VenueCall[] }
  /** The node has handled a message of REPORTS_PER_MESSAGE_MAX reports: the next may come. */
  | { kind: "more" }
  /** Stop the venue's timers, then the thread. */
  | { kind: "close" };

export type FromVenueThread =
  | { kind: "ready"; symbols: readonly string[]; quotes: readonly Quote[] }
  | { kind: "reports"; cause: ReportCause; reports: readonly VenueReport[]; quotes: readonly Quote[] }
  /** Thrown in the thread and not caught (a broken venue invariant): the thread stops after this. */
  | { kind: "failed"; message: string; stack: string };
