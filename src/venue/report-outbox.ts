// The venue thread's reports on their way to the node, a bounded slice per message. The node
// handles every report of a message in one go (each a command: decide, apply, append), and Bun
// hands a thread every message already queued for it before it polls its sockets again, so a
// tick that fills many orders, or a session close that expires thousands, sent whole or in
// many messages at once, would hold the node's thread while orders wait. After a full message
// the outbox waits until the node asks for more, which it does once it has polled its sockets.
import { invariant } from "./invariant.ts";
import type { VenueReport } from "./venue.ts";
import { REPORTS_PER_MESSAGE_MAX, type ReportCause } from "./venue-thread-messages.ts";

/** Reports waiting for the node; more means the node stopped asking (it is stuck or gone). */
const REPORTS_WAITING_MAX = 1_000_000;

interface ReportGroup {
  cause: ReportCause;
  reports: VenueReport[];
}

export class ReportOutbox {
  readonly #post: (cause: ReportCause, reports: VenueReport[]) => void;
  readonly #groups: ReportGroup[] = [];
  #waitingCount = 0;
  /** A full message was sent and the node has not asked for more yet. */
  #nodeBusy = false;

  constructor(post: (cause: ReportCause, reports: VenueReport[]) => void) {
    this.#post = post;
  }

  /** One turn's reports, in the venue's order; none when only the quotes moved (a quiet tick). */
  add(cause: ReportCause, reports: VenueReport[]): void {
    const last = this.#groups.at(-1);
    // Quotes are read when a message leaves: one quiet tick waiting stands for all of them.
    if (reports.length === 0 && last !== undefined && last.reports.length === 0) return;
    invariant(this.#waitingCount + reports.length <= REPORTS_WAITING_MAX, `at most ${REPORTS_WAITING_MAX} reports wait for the node`);
    this.#groups.push({ cause, reports });
    this.#waitingCount += reports.length;
    this.#send();
  }

  /** The node has handled a full message. */
  more(): void {
    this.#nodeBusy = false;
    this.#send();
  }

  #send(): void {
    while (!this.#nodeBusy) {
      const group = this.#groups[0];
      if (group === undefined) return;
      const reports = group.reports.length <= REPORTS_PER_MESSAGE_MAX ? group.reports : group.reports.splice(0, REPORTS_PER_MESSAGE_MAX);
      if (reports === group.reports) this.#groups.shift();
      this.#waitingCount -= reports.length;
      this.#nodeBusy = reports.length === REPORTS_PER_MESSAGE_MAX;
      this.#post(group.cause, reports);
    }
  }
}
