// What the node's thread and the venue thread say to each other. Few messages, each a batch:
// the calls of one turn of the node's event loop travel together, and the reports of one turn
// of the venue thread (a tick, or the answers to one batch of calls) come back together with
// the quotes as they stand after it. Every value is structured-clonable (bigints included).
import type { Qty } from "../core/money.ts";
import type { Listing } from "./default-listings.ts";
import type { VenueTimer } from "./simulated-venue.ts";
import type { Quote, VenueOrder, VenueReport } from "./venue.ts";

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
  /** Stop the venue's timers, then the thread. */
  | { kind: "close" };

export type FromVenueThread =
  | { kind: "ready"; symbols: readonly string[]; quotes: readonly Quote[] }
  /** What made the reports: a tick, the session's close, or calls (the node's own order flow). */
  | { kind: "reports"; cause: VenueTimer | "calls"; reports: readonly VenueReport[]; quotes: readonly Quote[] }
  /** Thrown in the thread and not caught (a broken venue invariant): the thread stops after this. */
  | { kind: "failed"; message: string; stack: string };
