// The venue thread: the node's SimulatedVenue runs here, with its ticks over the resting orders
// and its session timer, so that working thousands of resting orders never holds the node's
// event loop while orders wait behind it. This file is the thread's entry: it is bundled into a
// string (venue-thread-source.ts) and run from a Blob URL by thread-venue.ts, and nothing
// imports it. A broken venue invariant thrown here is not caught by the venue: the thread tells
// the node what broke and stops, and the node stops too, as when the venue ran on its thread.
import { invariant } from "./invariant.ts";
import { ReportOutbox } from "./report-outbox.ts";
import { SimulatedVenue, type VenueTimer } from "./simulated-venue.ts";
import type { Quote, VenueReport } from "./venue.ts";
import type { FromVenueThread, ReportCause, ToVenueThread, VenueCall } from "./venue-thread-messages.ts";

/** The part of the worker's global scope the thread uses. */
interface VenueThreadScope {
  onmessage: ((message: MessageEvent<ToVenueThread>) => void) | null;
  postMessage(message: FromVenueThread): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
}

/** process.exit in a worker ends that thread alone, not the node's process. */
const THREAD_CLOSED_EXIT_CODE = 0;
const THREAD_FAILED_EXIT_CODE = 1;

function serveVenueThread(scope: VenueThreadScope): void {
  let venue: SimulatedVenue | null = null;
  let reports: VenueReport[] = [];
  let sendScheduled = false;
  let cause: ReportCause = "calls";
  const outbox = new ReportOutbox((cause, reports) => {
    invariant(venue !== null, "reports come from a started venue");
    scope.postMessage({ kind: "reports", cause, reports, quotes: quotesOf(venue) });
  });
  // A microtask after the venue delivered its own: the reports of a tick, or of one batch of
  // calls, go out together, with the quotes as that tick or those fills left them.
  const scheduleSend = (): void => {
    if (sendScheduled) return;
    sendScheduled = true;
    queueMicrotask(() => {
      sendScheduled = false;
      // A tick moves the quotes, so it is sent even when it filled nothing; nothing else is.
      if (reports.length > 0 || cause === "tick") outbox.add(cause, reports);
      reports = [];
      cause = "calls";
    });
  };
  const afterTimer = (timer: VenueTimer): void => {
    cause = timer;
    scheduleSend();
  };
  const listen = (report: VenueReport): void => {
    reports.push(report);
    scheduleSend();
  };
  // Whatever throws uncaught (a call, a tick, a microtask of the venue's), the node hears why
  // before the thread ends: the error event the node's side gets carries only a formatted text.
  scope.addEventListener("error", (event) => {
    const failure = event.error instanceof Error ? event.error : new Error(event.message);
    scope.postMessage({ kind: "failed", message: failure.message, stack: failure.stack ?? failure.message });
    process.exit(THREAD_FAILED_EXIT_CODE);
  });
  scope.onmessage = ({ data }) => {
    switch (data.kind) {
      case "start":
        invariant(venue === null, "the venue thread is started once");
        venue = new SimulatedVenue({ ...data.settings, now: Date.now, afterTimer });
        scope.postMessage({ kind: "ready", symbols: venue.symbols(), quotes: quotesOf(venue) });
        return;
      case "calls":
        invariant(venue !== null, "calls reach a started venue");
        for (const call of data.calls) perform(venue, call, listen);
        return;
      case "more":
        return outbox.more();
      case "close":
        venue?.close();
        process.exit(THREAD_CLOSED_EXIT_CODE);
    }
  };
}

function perform(venue: SimulatedVenue, call: VenueCall, listen: (report: VenueReport) => void): void {
  switch (call.kind) {
    case "submit":
      return venue.submit(call.order);
    case "cancel":
      return venue.cancel(call.orderId);
    case "replace":
      return venue.replace(call.orderId, call.replacement, call.expectedFilledQty);
    case "reconcile":
      return venue.reconcile(call.openOrders);
    case "listen":
      return venue.onReport(listen);
  }
}

function quotesOf(venue: SimulatedVenue): Quote[] {
  const quotes: Quote[] = [];
  for (const symbol of venue.symbols()) {
    const quote = venue.quote(symbol);
    if (quote !== undefined) quotes.push(quote);
  }
  return quotes;
}

// In a worker the global scope is the worker's own (onmessage, postMessage, its error event).
serveVenueThread(globalThis as unknown as VenueThreadScope);
