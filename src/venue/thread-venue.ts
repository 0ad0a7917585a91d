// The venue `oms node` and `oms dev` run: the SimulatedVenue on a thread of its own, so that a
// tick over thousands of resting orders never holds the node's event loop while orders wait
// behind it. A real venue lives outside the OMS anyway; this one talks to the node only through
// the Venue interface, and its fills still reach the ledger as commands through the log.
//
// On the node's thread: calls are checked at once (a malformed order fails its caller, as in
// process), queued, and sent in one message per turn of the event loop; reports come back one
// message per turn of the venue thread, a bounded slice at a time (report-outbox.ts), with the
// quotes as they stand, which quote() and symbols() answer from without waiting. The venue's
// logic is SimulatedVenue's alone.
import type { Qty } from "../core/money.ts";
import { timedJob } from "../metrics/main-thread-work.ts";
import { invariant } from "./invariant.ts";
import type { Quote, Venue, VenueOrder, VenueReport } from "./venue.ts";
import { checkOrderCall, checkReconcileCall, checkReplaceCall } from "./venue-call-checks.ts";
import { REPORTS_PER_MESSAGE_MAX, type FromVenueThread, type ToVenueThread, type VenueCall, type VenueThreadSettings } from "./venue-thread-messages.ts";
import { venueThreadSource } from "./venue-thread-source.ts" with { type: "macro" };

export interface ThreadVenueOptions extends VenueThreadSettings {
  /**
   * The thread stopped without being asked to (a broken venue invariant, thrown there): the
   * node must stop, as it did when the venue threw on its own thread. Called once.
   */
  onFailure: (error: Error) => void;
}

/** Calls queued within one turn of the event loop; more means a caller loops without yielding (a bug). */
const CALLS_QUEUED_MAX = 1_000_000;
/** The thread builds its venue in milliseconds; a thread that has not answered by then never will. */
const START_TIMEOUT_MS = 10_000;

let sourceUrl: string | null = null;

/** One Blob URL per process: every thread venue runs the same bundled code. */
function venueThreadUrl(): string {
  sourceUrl ??= URL.createObjectURL(new Blob([venueThreadSource()], { type: "application/javascript" }));
  return sourceUrl;
}

export class ThreadVenue implements Venue {
  readonly #worker: Worker;
  readonly #symbols: readonly string[];
  readonly #quotes = new Map<string, Quote>();
  readonly #listeners: ((report: VenueReport) => void)[] = [];
  readonly #onFailure: (error: Error) => void;
  readonly #stopped = Promise.withResolvers<void>();
  #calls: VenueCall[] = [];
  #sendScheduled = false;
  #closed = false;
  #failure: Error | null = null;

  /** Starts the thread and resolves once its venue shows its symbols and first quotes. */
  static async start(options: ThreadVenueOptions): Promise<ThreadVenue> {
    const { onFailure, ...settings } = options;
    // Unreferenced: the venue alone never keeps a process alive; the node's server does.
    const worker = new Worker(venueThreadUrl(), { ref: false, name: "venue" });
    const ready = Promise.withResolvers<Extract<FromVenueThread, { kind: "ready" }>>();
    const timer = setTimeout(() => ready.reject(new Error(`venue thread did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    worker.onmessage = ({ data }: MessageEvent<FromVenueThread>) => {
      if (data.kind === "ready") ready.resolve(data);
      else if (data.kind === "failed") ready.reject(threadError(data.message, data.stack));
      else ready.reject(new Error(`venue thread sent ${data.kind} before it was ready`));
    };
    worker.onerror = (event) => ready.reject(new Error(`venue thread failed to start: ${event.message}`));
    worker.addEventListener("close", () => ready.reject(new Error("venue thread stopped before it was ready")));
    send(worker, { kind: "start", settings });
    try {
      const { symbols, quotes } = await ready.promise;
      return new ThreadVenue(worker, symbols, quotes, onFailure);
    } catch (error) {
      worker.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private constructor(worker: Worker, symbols: readonly string[], quotes: readonly Quote[], onFailure: (error: Error) => void) {
    this.#worker = worker;
    this.#symbols = symbols;
    this.#onFailure = onFailure;
    this.#keepQuotes(quotes);
    worker.onmessage = ({ data }: MessageEvent<FromVenueThread>) => this.#receive(data);
    worker.onmessageerror = () => this.#fail(new Error("venue thread sent a message that could not be read"));
    worker.onerror = (event) => this.#fail(new Error(`venue thread failed: ${event.message}`));
    worker.addEventListener("close", () => {
      if (!this.#closed) this.#fail(new Error("venue thread stopped without being closed"));
      this.#stopped.resolve();
    });
  }

  symbols(): readonly string[] {
    return this.#symbols;
  }

  /** The quote as the venue thread last sent it: after its last tick or fill. */
  quote(symbol: string): Quote | undefined {
    return this.#quotes.get(symbol);
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
    this.#enqueue({ kind: "reconcile", openOrders });
  }

  onReport(listener: (report: VenueReport) => void): void {
    this.#listeners.push(listener);
    // The thread's venue holds its reports until the first listener, as it does in process.
    if (this.#listeners.length === 1) this.#enqueue({ kind: "listen" });
  }

  /** Stops the venue's timers and then its thread; calls made before it still reach the venue. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#failure !== null) return;
    this.#sendCalls();
    send(this.#worker, { kind: "close" });
  }

  /** Settles once the thread has stopped, closed or failed. */
  get stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  #enqueue(call: VenueCall): void {
    invariant(!this.#closed, `no ${call.kind} reaches a closed venue`);
    // A failed thread would never answer: the call fails, and with it the node, as in process.
    if (this.#failure !== null) throw this.#failure;
    invariant(this.#calls.length < CALLS_QUEUED_MAX, "venue calls queued within their bound");
    this.#calls.push(call);
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    queueMicrotask(() => this.#sendCalls());
  }

  #sendCalls(): void {
    this.#sendScheduled = false;
    if (this.#calls.length === 0 || this.#failure !== null) return;
    const calls = this.#calls;
    this.#calls = [];
    send(this.#worker, { kind: "calls", calls });
  }

  #receive(message: FromVenueThread): void {
    // Reports still on their way when the node closed the venue find no one: the node has
    // stopped taking them, and the next start reconciles with what its log says.
    if (this.#closed || this.#failure !== null) return;
    if (message.kind === "failed") return this.#fail(threadError(message.message, message.stack));
    invariant(message.kind === "reports", `venue thread sends ${message.kind} once, at start`);
    // What a tick or the session's close still costs this thread: its quotes and the node's
    // handling of its reports (reading the message happens before this handler, untimed).
    if (message.cause === "calls") this.#deliver(message);
    else timedJob(message.cause === "tick" ? "venue_tick" : "venue_session", () => this.#deliver(message));
    // More may be waiting: asked for after this thread has polled its sockets (an immediate
    // runs before the poll, and the next message arrives after it).
    if (message.reports.length === REPORTS_PER_MESSAGE_MAX) setImmediate(() => this.#askForMore());
  }

  #askForMore(): void {
    if (this.#closed || this.#failure !== null) return;
    send(this.#worker, { kind: "more" });
  }

  #deliver(message: Extract<FromVenueThread, { kind: "reports" }>): void {
    this.#keepQuotes(message.quotes);
    for (const report of message.reports) {
      for (const listener of this.#listeners) listener(report);
    }
  }

  #keepQuotes(quotes: readonly Quote[]): void {
    for (const quote of quotes) this.#quotes.set(quote.symbol, quote);
  }

  #fail(error: Error): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#worker.terminate();
    this.#onFailure(error);
  }
}

/** The thread's own error, as the node logs it: its message, and its stack where it was thrown. */
function threadError(message: string, stack: string): Error {
  const error = new Error(`venue thread failed: ${message}`);
  error.stack = stack;
  return error;
}

function send(worker: Worker, message: ToVenueThread): void {
  worker.postMessage(message);
}
