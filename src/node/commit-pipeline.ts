// The commit pipeline: how a command becomes a durable change and an answer. Every command
// type (create account, deposit, withdraw, set trading state, submit, cancel, replace, each
// from an Execute batch, and the venue's execution reports) passes the same stages, in this
// order, each a function below:
//
//   1. parse     the wire fields become a core Command with the node's ids, clock and market
//                price, and how to encode its answer (command-parse.ts; a venue report is a
//                fact already: commandOfReport)
//   2. decide    the core decides against the account as decided so far; it may refuse
//   3. apply     the events change the ledger at once, so that the account's next command (in
//                the same batch, maybe) sees them; invariants are checked; side effects are
//                collected, not run
//   4. encode    the answer, from the account as this command left it; then closed orders
//                past their retention leave the hot ledger (evict), for the archive
//   5. append    the record goes to the write-ahead log
//   6. effects   once the log has the record: the venue is told, trade updates published,
//                evicted orders handed to the archive
//   7. reply     the caller gets the answer, once the log has the record and only then
//
// Apply comes before append, so memory runs ahead of the log but nobody hears of a change the
// log may lose: an answer and an effect wait for the record (6, 7), a read waits for every
// record of its shard decided before it (read), and a failed append stops the node, as memory
// would hold what the log does not.
//
// Reads (GetAccount, ListPositions, GetOrder, ListOrders) take stage 1, then wait until the
// shard's earlier writes are durable, then encode (4) and reply (7); they decide, apply,
// append and affect nothing. A resubmitted client order id decides to write nothing, and is
// answered as a read is.
import { findOrder, type Account } from "../core/account.ts";
import type { Command } from "../core/command.ts";
import type { Event } from "../core/event.ts";
import { checkTouched } from "../core/invariants.ts";
import { reject, type Rejection } from "../core/rejection.ts";
import type { ClosedOrderRetention } from "../core/account.ts";
import { apply, decide, evict } from "../core/state-machine.ts";
import type { OrderArchive } from "../archive/order-archive.ts";
import type { EventLog } from "../log/event-log.ts";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import type { Venue, VenueReport } from "../venue/venue.ts";
import { AckDeadlines, type AckWait } from "./ack-deadlines.ts";
import { parseCommand, type NodeCommandCase, type Outcome, type ParseContext, type WriteAnswer } from "./command-parse.ts";
import { encodedNodeResults } from "./execute-response-encoder.ts";
import type { ShardLedger } from "./shard-ledgers.ts";
import type { TradeUpdateHub } from "./trade-update-hub.ts";
import { venueOrderOf } from "./venue-order.ts";
import type { Scheduler } from "./scheduler.ts";
import { HeldEffects, type Ownership } from "./held-effects.ts";
import { orderIdOf, tradeUpdateOf } from "./wire-views.ts";

/** The durable end of a node that is stopping: it never comes. */
const STOPPED: Promise<bigint> = new Promise(() => {});

/** What the pipeline takes from its node. */
export interface PipelineParts {
  readonly log: EventLog;
  readonly venue: Venue;
  readonly updates: TradeUpdateHub;
  readonly parseContext: ParseContext;
  /** A command whose record the log has not confirmed within this is answered UNAVAILABLE. */
  readonly ackTimeoutMs: number;
  /** Times the ack deadlines; its monotonic clock also times commands' deadlines. */
  readonly scheduler: Scheduler;
  /** The account's shard if it may take a write now, else why not. */
  writableShard(accountId: string): ShardLedger | Rejection;
  /** The account's shard if this node may answer reads of it, else why not. */
  readableShard(accountId: string): ShardLedger | Rejection;
  /** Whether the shard is this node's now, may not be (its lease lapsed), or is another's (fenced). */
  ownership(shard: number): Ownership;
  /** Why the node no longer owns the shard (its lease lapsed, or it was fenced), or null. */
  ownershipProblem(shard: number): Rejection | null;
  /** A record of the shard is durable (and its effects run): snapshots count them. */
  recorded(shard: ShardLedger): void;
  /** A broken invariant or a failed append: the ledger can no longer be trusted, so the node stops. */
  die(error: unknown): void;
  /** How long closed orders stay in the hot ledger. */
  readonly closedOrders: ClosedOrderRetention;
  /** Where evicted orders go, once the record that evicted them is durable. */
  readonly archive: Pick<OrderArchive, "add">;
  /** Told each write's events once the log has them (the node's debug log), or null. */
  readonly orderEvents: ((accountId: string, events: readonly Event[]) => void) | null;
}

type Effect = () => void;

/**
 * An Execute call's mark for its reply stage (node-metrics.ts): when the node heard that the
 * last of its commands' records was durable (a call refused before any write keeps the time
 * it was taken up).
 */
export interface ReplyClock {
  durableHeardMs: number;
}

export class CommitPipeline {
  /**
   * A command whose record the log has not confirmed within ackTimeoutMs is answered
   * UNAVAILABLE; the write goes on and may land, so the client looks before it resubmits (or
   * resubmits with the same client_order_id).
   */
  private readonly ackDeadlines: AckDeadlines;
  private readonly ackTimedOut: Rejection;
  private readonly deadlinePassed: Rejection = reject("deadline_exceeded", "the operation timed out before the node took it up; it was not decided, nothing was done");
  private readonly heldEffects: HeldEffects;

  constructor(private readonly parts: PipelineParts) {
    this.ackDeadlines = new AckDeadlines(parts.ackTimeoutMs, parts.scheduler);
    this.heldEffects = new HeldEffects((shard) => parts.ownership(shard), parts.scheduler, (error) => parts.die(error));
    this.ackTimedOut = reject(
      "unavailable",
      `the write-ahead log did not confirm the write within ${parts.ackTimeoutMs} ms; its outcome is unknown: look the order up before resubmitting`,
    );
  }

  /** The clock of deadlines: monotonic, in ms. */
  nowMs(): number {
    return this.parts.scheduler.now();
  }

  /**
   * One command of an Execute batch, from its wire fields to its encoded NodeResult. Its turn
   * is now: if its caller's deadline (deadlineMs, on nowMs's clock) has passed, it is refused
   * before it is parsed, so nothing is decided, placed or held, and the refusal is the truth.
   * Once decided, it is answered however late.
   */
  execute(wire: NodeCommandCase, newId: () => string, deadlineMs: number | null = null, replyClock: ReplyClock | null = null): Promise<Uint8Array> {
    if (deadlineMs !== null && this.parts.scheduler.now() >= deadlineMs) return Promise.resolve(this.refusedAtParse(wire, this.deadlinePassed));
    const startedMs = performance.now();
    const parsed = parseCommand(this.parts.parseContext, wire, newId); // 1. parse
    if (parsed.kind === "refused") return Promise.resolve(this.refusedAtParse(wire, parsed.rejection));
    const answered = parsed.kind === "read" ? this.read(parsed.accountId, parsed.answer).then(flatten) : this.commit(parsed.command, parsed.answer, replyClock);
    nodeMetrics.stages.decide.observe((performance.now() - startedMs) / 1000);
    return answered.then(resultBytes);
  }

  /** A write refused before stage 2 is counted as one refused at decide is (reads are not counted). */
  private refusedAtParse(wire: NodeCommandCase, rejection: Rejection): Uint8Array {
    const label = WRITE_LABELS.get(wire.case);
    if (label !== undefined) nodeMetrics.commandDecided(label, rejection.code);
    return encodedNodeResults.rejection(rejection);
  }

  /** A venue report: stage 1 is commandOfReport, and nobody waits for an answer but the report queue. */
  report(report: VenueReport): Promise<Outcome<null>> {
    return this.commit(commandOfReport(report), () => null);
  }

  /** Stages 2 to 7 of a parsed command; encodeAnswer is its stage 4. */
  commit<T>(command: Command, encodeAnswer: WriteAnswer<T>, replyClock: ReplyClock | null = null): Promise<Outcome<T>> {
    const shard = this.parts.writableShard(command.accountId);
    if ("code" in shard) return refused(command, shard);
    const decision = decide(shard.ledger, command); // 2. decide
    if (!decision.ok) return refused(command, decision.rejection);
    const duplicateOf = "duplicateOf" in decision ? decision.duplicateOf : null;
    if (decision.events.length === 0) {
      nodeMetrics.commandDecided(command.kind, "unchanged");
      return this.read(command.accountId, (account) => encodeAnswer(account, duplicateOf));
    }
    nodeMetrics.commandDecided(command.kind, "accepted");
    const decidedMs = nodeMetrics.commitStarted();
    const effects = this.applyEvents(shard, command.accountId, decision.events); // 3. apply
    const orderEvents = this.parts.orderEvents;
    if (orderEvents !== null) effects.push(() => orderEvents(command.accountId, decision.events));
    const answer = encodeAnswer(accountOf(shard, command.accountId), duplicateOf); // 4. encode
    // After the answer, which may show an order this command closed; replay evicts at the same
    // point (recovery.ts), so both hold the same hot ledger.
    const evicted = evict(shard.ledger, command.accountId, decision.events, this.parts.closedOrders);
    if (evicted.length > 0) effects.push(() => this.parts.archive.add(evicted));
    const replied = Promise.withResolvers<Outcome<T>>();
    const wait = this.ackDeadlines.wait(() => replied.resolve({ ok: false, rejection: this.ackTimedOut }));
    const appended = this.append(shard, command.accountId, decision.events); // 5. append
    // Appends of a shard resolve in order, so the shard's durable end becomes the end of this
    // record, once its effects have run and its caller has been answered: a read that came
    // after this command waits for all of it.
    shard.durableEnd = appended.then(
      (offset) => {
        if (replyClock !== null) replyClock.durableHeardMs = performance.now();
        nodeMetrics.commitDurable(decidedMs);
        try {
          this.runEffects(shard, effects); // 6. effects
        } catch (error) {
          return this.stop(error, wait, replied);
        }
        this.reply(shard, wait, replied, answer); // 7. reply
        return offset + 1n;
      },
      (error: unknown) => this.stop(error, wait, replied),
    );
    return replied.promise;
  }

  /** A read: once every write decided before it in the account's shard is durable, the answer. */
  read<T>(accountId: string, encodeAnswer: (account: Account) => T): Promise<Outcome<T>> {
    const shard = this.parts.readableShard(accountId);
    if ("code" in shard) return Promise.resolve({ ok: false, rejection: shard });
    return shard.durableEnd.then(() => {
      const account = shard.ledger.get(accountId);
      if (account === undefined) return { ok: false, rejection: reject("not_found", `account_id: account ${accountId} not found`) };
      return { ok: true, value: encodeAnswer(account) };
    });
  }

  /** Stops the ack timer; waits left are answered by nobody. */
  close(): void {
    this.ackDeadlines.close();
    this.heldEffects.close();
  }

  /** 3. The events change the ledger now; what they ask of the world waits for the log. */
  private applyEvents(shard: ShardLedger, accountId: string, events: readonly Event[]): Effect[] {
    const effects: Effect[] = [];
    shard.snapshot?.beforeChange(accountId);
    try {
      for (const event of events) {
        apply(shard.ledger, accountId, event);
        const account = accountOf(shard, accountId);
        checkTouched(account, orderIdOf(event));
        this.collectEffects(account, event, effects);
      }
    } catch (error) {
      // A broken invariant is a bug: the ledger can no longer be trusted, so stop.
      this.parts.die(error);
      throw error;
    }
    return effects;
  }

  /** What to do once an event is durable: tell the venue, then the account's streams. */
  private collectEffects(account: Account, event: Event, effects: Effect[]): void {
    const venue = this.parts.venue;
    const orderId = orderIdOf(event);
    const order = orderId === null ? undefined : findOrder(account, orderId);
    if (event.kind === "order_accepted" && order !== undefined) {
      const routed = venueOrderOf(order);
      effects.push(() => venue.submit(routed));
    } else if (event.kind === "order_cancel_requested") {
      effects.push(() => venue.cancel(event.orderId));
    } else if (event.kind === "order_replace_requested" && order?.pendingReplace != null) {
      const replacement = findOrder(account, event.terms.id);
      if (replacement === undefined) throw new Error(`invariant: replacement ${event.terms.id} missing`);
      const routed = venueOrderOf(replacement);
      const expectedFilledQty = order.pendingReplace.filledQty;
      effects.push(() => venue.replace(event.orderId, routed, expectedFilledQty));
    }
    // Built now, so it shows the order as this event left it; skipped when nobody listens
    // (a stream opened later starts after this event anyway).
    if (!this.parts.updates.hasSubscribers(account.id)) return;
    const update = tradeUpdateOf(event, order, account);
    if (update !== null) effects.push(() => this.parts.updates.publish(account.id, update));
  }

  /** 5. The record, with the shard's next sequence, goes to the log; resolves with its offset once durable. */
  private append(shard: ShardLedger, accountId: string, events: Event[]): Promise<bigint> {
    const header = { shard: shard.shard, epoch: shard.epoch, sequence: shard.nextSequence };
    shard.nextSequence += 1n;
    return this.parts.log.append(header, { accountId, events });
  }

  /** 6. The record is durable: the world may hear of it. */
  private runEffects(shard: ShardLedger, effects: readonly Effect[]): void {
    // Only an owner tells the world: see held-effects.ts for a record that landed after the lease lapsed.
    this.heldEffects.run(shard.shard, () => {
      for (const effect of effects) effect();
    });
    this.parts.recorded(shard);
  }

  /** 7. The answer, unless the deadline answered first, or the node lost the shard before the log confirmed the record. */
  private reply<T>(shard: ShardLedger, wait: AckWait, replied: PromiseWithResolvers<Outcome<T>>, answer: T): void {
    if (!this.ackDeadlines.answer(wait)) return;
    const lapsed = this.parts.ownershipProblem(shard.shard);
    if (lapsed === null) return void replied.resolve({ ok: true, value: answer });
    // The record is in the log, but the new owner replays it only if it landed before its epoch
    // marker: in doubt, not refused, or a client would place the order again under a new id.
    const inDoubt = `${lapsed.message}; this write was recorded but may not count, so its outcome is unknown: retry it (a submit with the same client_order_id)`;
    replied.resolve({ ok: false, rejection: reject("unavailable", inDoubt) });
  }

  /**
   * The log failed the write (or an effect threw): memory is ahead of the log, so the node
   * stops, and the shard's durable end never comes. The caller is told UNAVAILABLE with the
   * log's reason (a full disk, a refused produce), not a bare failure of the whole call.
   */
  private stop<T>(error: unknown, wait: AckWait, replied: PromiseWithResolvers<Outcome<T>>): Promise<bigint> {
    this.parts.die(error);
    const reason = error instanceof Error ? error.message : String(error);
    if (this.ackDeadlines.answer(wait)) replied.resolve({ ok: false, rejection: reject("unavailable", `${reason}; this node is stopping: retry shortly`) });
    return STOPPED;
  }
}

function refused<T>(command: Command, rejection: Rejection): Promise<Outcome<T>> {
  nodeMetrics.commandDecided(command.kind, rejection.code);
  return Promise.resolve({ ok: false, rejection });
}

/** The writes' core kinds by wire case: a write refused at parse is counted as one refused at decide is (reads are not counted). */
const WRITE_LABELS = new Map<NodeCommandCase["case"], Command["kind"]>([
  ["createAccount", "create_account"],
  ["deposit", "deposit"],
  ["withdraw", "withdraw"],
  ["setTradingState", "set_trading_state"],
  ["submitOrder", "submit_order"],
  ["cancelOrder", "cancel_order"],
  ["replaceOrder", "replace_order"],
]);

/** Stage 1 of a venue report: a fact that already happened, to be recorded as it is. */
function commandOfReport(report: VenueReport): Command {
  return { kind: "apply_execution", ...report };
}

function accountOf(shard: ShardLedger, accountId: string): Account {
  const account = shard.ledger.get(accountId);
  if (account === undefined) throw new Error(`invariant: account ${accountId} vanished from shard ${shard.shard}`);
  return account;
}

function flatten<T>(outcome: Outcome<Outcome<T>>): Outcome<T> {
  return outcome.ok ? outcome.value : outcome;
}

function resultBytes(outcome: Outcome<Uint8Array>): Uint8Array {
  return outcome.ok ? outcome.value : encodedNodeResults.rejection(outcome.rejection);
}

