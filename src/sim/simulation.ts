// One simulated run: real OmsNodes (commit pipeline, recovery, snapshots, shard ownership) over
// the simulated log, stores, venue and network, driven by a schedule on the simulated clock.
// After every recovery the node's ledger is held to the reference model; at the end every node
// is killed, one recovers, the venue's reports drain, and the live ledger must equal what the
// log alone rebuilds. The first problem ends the run.
import type { Account } from "../core/account.ts";
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { encodeAccount } from "../core/ledger-codec.ts";
import { formatCash } from "../core/money.ts";
import { NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { CreateAccountRequestSchema, DepositRequestSchema } from "../gen/oms/v1/account_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../gen/oms/v1/trading_pb.ts";
import type { NodeCommandCase, SubmitOrderFields } from "../node/command-parse.ts";

import { OmsNode, type NodeLogger } from "../node/oms-node.ts";
import { recoverShard } from "../node/recovery.ts";
import type { SnapshotStore } from "../snapshot/snapshot-store.ts";
import { seededRandom } from "../venue/seeded-random.ts";
import { EventLoop, WORLD, type Owner } from "./event-loop.ts";
import { withMetricsWatchersRemoved } from "./metrics-watchers.ts";
import { DEPOSITS_PER_ACCOUNT_MAX, ReferenceModel, type Fate, type ModelOrder } from "./reference-model.ts";
import { FAULT_KINDS, SIM_ACCOUNTS, SIM_ACK_TIMEOUT_MS, SIM_LEASE_MS, type NodeName, type Step } from "./schedule.ts";
import { LogStorage, NETWORK_HOP_MS, NO_LOG_BUGS, type LogBugs } from "./sim-log.ts";
import { SIM_PRICE, SIM_SYMBOLS, SimVenue } from "./sim-venue.ts";
import { SimArchive } from "./sim-archive.ts";
import { ClaimsStorage, SnapshotStorage, StoreNetwork } from "./sim-stores.ts";

export interface RunOptions {
  seed: number;
  steps: readonly Step[];
  bugs?: LogBugs;
}

export interface RunResult {
  seed: number;
  /** The first problem found, or null: the run passed. */
  failure: string | null;
  faults: number;
  recoveries: number;
  ackedOrdersChecked: number;
  lost: number;
  divergences: number;
  events: number;
}

export const SHARD_COUNT = 2;
/** Snapshots come often, so that runs cross them, crash in them and replay from them. */
const SNAPSHOT_EVERY_RECORDS = 6;
/** Wall time the simulated clock starts at (the ledger's timestamps). */
const CLOCK_EPOCH_MS = 1_800_000_000_000;
/** Long enough for every pause and partition of a schedule to end and every lease to lapse. */
const SETTLE_MS = 8_000;
const ONE_CENT = 100n;
/** A node that is not serving yet is looked at again this often, this many times. */
const CHECK_RETRY_MS = 100;
const CHECK_TRIES = 30;
const RESTART_AFTER_MS_MIN = 20;
const RESTART_AFTER_MS_SPREAD = 400;

const silent: NodeLogger = { debug() {}, info() {}, warn() {}, error() {}, level: "info" };

interface Incarnation {
  id: Owner;
  name: NodeName;
  node: OmsNode | null;
}

class Failed extends Error {}

export class Simulation {
  readonly loop = new EventLoop();
  private readonly environment: () => number;
  private readonly log: LogStorage;
  private readonly network: StoreNetwork;
  private readonly snapshots: SnapshotStorage;
  /** Each node's archive of evicted orders, kept across its crashes as its disk would be. */
  private readonly archives = new Map<NodeName, SimArchive>();
  private readonly claims: ClaimsStorage;
  private readonly venue: SimVenue;
  private readonly model = new ReferenceModel();
  private readonly incarnations: Incarnation[] = [];
  private current: Incarnation | null = null;
  private problem: string | null = null;
  private lost = 0;
  private faults = 0;
  private recoveries = 0;
  private ackedOrdersChecked = 0;
  private nextOrder = 0;
  /** False once the run ends: the final recovery is the harness's own. */
  private supervising = true;

  constructor(private readonly options: RunOptions) {
    // The environment (latencies, which in-flight writes a crash keeps, which orders fill)
    // draws from its own stream, apart from the schedule's, so dropping a step while shrinking
    // leaves the rest of the world as alike as it can be.
    this.environment = seededRandom((options.seed ^ 0x5eed_5eed) >>> 0);
    this.log = new LogStorage(this.loop, this.environment, options.bugs ?? NO_LOG_BUGS);
    this.network = new StoreNetwork(this.loop);
    this.snapshots = new SnapshotStorage(this.network);
    this.claims = new ClaimsStorage(this.network);
    this.venue = new SimVenue(this.loop, this.log, () => this.clockMs());
  }

  async run(): Promise<RunResult> {
    try {
      let atMs = 0;
      for (const step of this.options.steps) {
        atMs += step.afterMs;
        this.loop.at(atMs, WORLD, () => this.take(step));
      }
      await this.runUntil(atMs);
      await this.finish();
    } catch (error) {
      if (!(error instanceof Failed)) this.problem ??= `harness: ${error instanceof Error ? error.stack : String(error)}`;
    }
    const problem = this.problem;
    return {
      seed: this.options.seed,
      failure: problem,
      faults: this.faults,
      recoveries: this.recoveries,
      ackedOrdersChecked: this.ackedOrdersChecked,
      lost: this.lost,
      divergences: problem !== null && this.lost === 0 ? 1 : 0,
      events: this.loop.eventsRun,
    };
  }

  private clockMs(): number {
    return CLOCK_EPOCH_MS + this.loop.nowMs;
  }

  private async runUntil(untilMs: number): Promise<void> {
    await this.loop.runUntil(untilMs, () => {
      const violation = this.venue.violations[0];
      if (violation !== undefined) this.fail(violation);
      if (this.problem !== null) throw new Failed(this.problem);
    });
  }

  private fail(problem: string): void {
    this.problem ??= problem;
  }

  private take(step: Step): void {
    if (FAULT_KINDS.has(step.kind)) this.faults += 1;
    const now = this.loop.nowMs;
    switch (step.kind) {
      case "start":
        return this.start(step.node);
      case "create": {
        const account = this.model.account(accountIdOf(step.account));
        account.created = betterFate(account.created, "sent");
        return this.send(step.account, false, (accountId) => ({ case: "createAccount", value: create(CreateAccountRequestSchema, { accountId }) }), (fate, code) => {
          account.created = betterFate(account.created, code === Code.AlreadyExists ? null : fate);
        });
      }
      case "deposit": {
        const account = this.model.account(accountIdOf(step.account));
        const index = account.deposits.length;
        if (index >= DEPOSITS_PER_ACCOUNT_MAX) return;
        account.deposits.push("sent");
        const amount = formatCash(this.model.depositAmount(index));
        return this.send(step.account, false, (accountId) => ({ case: "deposit", value: create(DepositRequestSchema, { accountId, amount }) }), (fate) => void (account.deposits[index] = fate));
      }
      case "order":
        return this.order(step);
      case "cancel": {
        const candidates = this.model.account(accountIdOf(step.account)).orders.filter((order) => order.fate !== "refused");
        const order = candidates[step.pick % Math.max(candidates.length, 1)];
        if (order === undefined) return;
        order.cancel = betterFate(order.cancel, "sent");
        return this.send(step.account, step.toStale, (accountId) => ({ case: "cancelOrder", value: { accountId, orderId: order.orderId } }), (fate) => {
          order.cancel = fate === "refused" ? order.cancel : betterFate(order.cancel, fate);
        });
      }
      case "replace":
        return this.replace(step);
      case "fills":
        return this.venue.fillSome(this.environment, step.count);
      case "snapshot":
        return this.onCurrent((node) => void node.snapshotAll().catch((error: unknown) => this.fail(`snapshot threw: ${String(error)}`)));
      case "crash":
        // The newest process, whatever it is doing then: serving, claiming, replaying, snapshotting.
        this.loop.after(step.afterMs2, WORLD, () => {
          const newest = this.incarnations.findLast((incarnation) => this.loop.isAlive(incarnation.id));
          if (newest !== undefined) this.crash(newest);
        });
        return;
      case "append_error":
        this.log.failNextAppends += 1;
        return;
      case "duplicate_append":
        this.log.duplicateNextAppends += 1;
        return;
      case "slow_log":
        this.log.slowUntilMs = now + step.forMs;
        this.log.slowMs = step.slowMs;
        return;
      case "log_down":
        this.log.downUntilMs = now + step.forMs;
        return;
      case "pause":
        if (this.current !== null) this.loop.pause(this.current.id, now + step.forMs);
        return;
      case "partition":
        if (this.current !== null) this.network.partition(this.current.id, now + step.forMs);
        return;
    }
  }

  private order(step: Extract<Step, { kind: "order" }>): void {
    const orderId = `o${++this.nextOrder}`;
    const accountId = accountIdOf(step.account);
    const symbol = SIM_SYMBOLS[step.symbol] as string;
    const order: ModelOrder = {
      orderId, accountId, symbol, side: step.side, qty: BigInt(step.qty), limitPrice: SIM_PRICE + BigInt(step.priceTicks) * ONE_CENT, fate: "sent", cancel: null,
    };
    this.model.orders.set(orderId, order);
    this.model.account(accountId).orders.push(order);
    const value: SubmitOrderFields = {
      accountId, clientOrderId: orderId, symbol, side: step.side === "buy" ? Side.BUY : Side.SELL, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
      qty: String(step.qty), limitPrice: formatCash(order.limitPrice), stopPrice: "",
    };
    this.send(step.account, step.toStale, () => ({ case: "submitOrder", value }), (fate) => void (order.fate = fate), orderId);
  }

  /** A replace: a new order (the sim's id) on the old one's symbol and side, with new qty and limit. */
  private replace(step: Extract<Step, { kind: "replace" }>): void {
    const accountId = accountIdOf(step.account);
    const candidates = this.model.account(accountId).orders.filter((order) => order.fate !== "refused");
    const old = candidates[step.pick % Math.max(candidates.length, 1)];
    if (old === undefined) return;
    const orderId = `o${++this.nextOrder}`;
    const order: ModelOrder = { ...old, orderId, qty: BigInt(step.qty), limitPrice: SIM_PRICE + BigInt(step.priceTicks) * ONE_CENT, fate: "sent", cancel: null };
    this.model.orders.set(orderId, order);
    this.model.account(accountId).orders.push(order);
    const value = { accountId, orderId: old.orderId, qty: String(step.qty), limitPrice: formatCash(order.limitPrice), stopPrice: "", timeInForce: TimeInForce.UNSPECIFIED, clientOrderId: "" };
    this.send(step.account, step.toStale, () => ({ case: "replaceOrder", value }), (fate) => void (order.fate = fate), orderId);
  }

  /**
   * A client's command: one hop to the node, then what an Execute call does with it
   * (node.execute: parse, decide, apply, encode, append, effects, reply), and the answer noted.
   * An order's id is the sim's, so the model can name it.
   */
  private send(account: number, toStale: boolean, command: (accountId: string) => NodeCommandCase, noted: (fate: Fate, code: Code | null) => void, newId = ""): void {
    const target = toStale ? this.stale() ?? this.current : this.current;
    if (target?.node == null) {
      noted("refused", null); // nobody to send to: the client was refused at once
      return;
    }
    const node = target.node;
    this.loop.after(NETWORK_HOP_MS, target.id, () => {
      node.execute(command(accountIdOf(account)), () => newId).then(
        (bytes) => {
          const { result } = fromBinary(NodeResultSchema, bytes);
          if (result.case !== "error") return noted("acked", null);
          const code = result.value.code as Code;
          noted(code === Code.Unavailable ? "doubt" : "refused", code);
        },
        () => noted("doubt", null),
      );
    });
  }

  private onCurrent(run: (node: OmsNode) => void): void {
    const target = this.current;
    if (target?.node == null) return;
    const node = target.node;
    this.loop.after(NETWORK_HOP_MS, target.id, () => run(node));
  }

  /** The oldest node still running that is not the newest: a zombie, if one lives. */
  private stale(): Incarnation | null {
    return this.incarnations.find((incarnation) => incarnation !== this.current && incarnation.node !== null && this.loop.isAlive(incarnation.id)) ?? null;
  }

  private archiveOf(name: NodeName): SimArchive {
    let archive = this.archives.get(name);
    if (archive === undefined) this.archives.set(name, (archive = new SimArchive()));
    return archive;
  }

  private start(name: NodeName): void {
    // A process restarts only once the last one of its name is gone (a data directory lock).
    if (this.incarnations.some((incarnation) => incarnation.name === name && this.loop.isAlive(incarnation.id))) return;
    const incarnation: Incarnation = { id: `${name}#${this.incarnations.length}`, name, node: null };
    this.incarnations.push(incarnation);
    const id = incarnation.id;
    OmsNode.start({
      nodeId: name,
      shardCount: SHARD_COUNT,
      shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard),
      shardOf: shardOfAccount,
      log: this.log.view(id),
      snapshots: this.snapshots.view(id),
      claims: this.claims.view(id),
      archive: this.archiveOf(name),
      venue: this.venue.port(id),
      leaseMs: SIM_LEASE_MS,
      ackTimeoutMs: SIM_ACK_TIMEOUT_MS,
      logger: silent,
      snapshotEveryRecords: SNAPSHOT_EVERY_RECORDS,
      clock: () => this.clockMs(),
      scheduler: this.loop.schedulerFor(id),
      onFatal: (error) => {
        if (!String(error).includes("(injected)")) this.fail(`node ${id} stopped: ${String(error)}`);
        this.crash(incarnation);
      },
    }).then(
      (node) => {
        if (!this.loop.isAlive(id)) return;
        incarnation.node = node;
        this.current = incarnation;
        this.recoveries += 1;
        this.check(incarnation, node, `after ${id} recovered`);
      },
      (error: unknown) => {
        const text = String(error);
        // Waiting out a live holder, losing the store mid-start, or finding that another owner
        // wrote after our claim: each refusal is the node doing its job.
        if (!/is held by|unreachable|another owner wrote after it|\(injected\)/.test(text)) this.fail(`node ${id} failed to start: ${text}`);
        this.crash(incarnation);
      },
    );
  }

  private crash(incarnation: Incarnation): void {
    if (!this.loop.isAlive(incarnation.id)) return;
    this.loop.kill(incarnation.id);
    this.log.crash(incarnation.id);
    if (this.current === incarnation) this.current = null;
    // A supervisor (systemd, Kubernetes) starts the process again after a while.
    if (this.supervising) this.loop.after(RESTART_AFTER_MS_MIN + Math.floor(this.environment() * RESTART_AFTER_MS_SPREAD), WORLD, () => void (this.supervising && this.start(incarnation.name)));
  }

  /**
   * Not awaited by the event loop: a read waits for its shard's durable end, which may need
   * events still to come; the first problem found stops the run wherever it is.
   */
  private check(incarnation: Incarnation, node: OmsNode, when: string, triesLeft = CHECK_TRIES): void {
    this.checkNode(incarnation, node, when, triesLeft).catch((error: unknown) => this.fail(`${when}: check threw: ${String(error)}`));
  }

  /** The node's ledger against the reference model; it answers reads only of what is durable. */
  private async checkNode(incarnation: Incarnation, node: OmsNode, when: string, triesLeft = CHECK_TRIES): Promise<void> {
    const accounts = new Map<string, Account>();
    for (let account = 0; account < SIM_ACCOUNTS; account += 1) {
      const accountId = accountIdOf(account);
      const outcome = await node.read(accountId, (found) => found);
      if (outcome.ok) accounts.set(accountId, outcome.value);
      else if (outcome.rejection.code === "unavailable" && triesLeft > 0) {
        // Not serving yet (a claim that waited starts with its lease deadline already near):
        // the model holds at any moment, so look again a little later.
        this.loop.after(CHECK_RETRY_MS, incarnation.id, () => this.check(incarnation, node, when, triesLeft - 1));
        return;
      } else if (outcome.rejection.code !== "not_found") return this.fail(`${when}: read of ${accountId} refused: ${outcome.rejection.message}`);
    }
    const { problems, lost } = this.model.check((accountId) => accounts.get(accountId), (orderId) => this.venue.filledQty(orderId));
    this.ackedOrdersChecked += this.model.ackedOrders();
    this.lost += lost;
    if (problems.length > 0) this.fail(`${when}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`);
  }

  /**
   * Every fault healed, every node killed, one node recovered, the venue's reports drained:
   * the reference model must hold, every fill the venue made must be in the ledger, and the
   * live ledger must be exactly what the log alone rebuilds.
   */
  private async finish(): Promise<void> {
    this.log.failNextAppends = 0;
    this.log.duplicateNextAppends = 0;
    this.log.slowUntilMs = 0;
    this.log.downUntilMs = 0;
    this.supervising = false;
    for (const incarnation of this.incarnations) this.crash(incarnation);
    const final = this.incarnations.length % 2 === 0 ? "a" : "b";
    this.loop.at(this.loop.nowMs + SETTLE_MS, WORLD, () => this.start(final));
    await this.runUntil(this.loop.nowMs + 3 * SETTLE_MS);
    const current = this.current as Incarnation | null;
    if (current?.node == null || !current.id.startsWith(final)) return this.fail(`final: node ${final} did not recover`);
    const node = current.node;
    let checked = false;
    void this.checkNode(current, node, "final", 0).then(() => void (checked = true));
    await this.runUntil(this.loop.nowMs + SETTLE_MS);
    if (!checked) return this.fail("final: the node's reads did not answer");
    for (const order of this.model.orders.values()) {
      const outcome = await node.read(order.accountId, (account) => account.orders.get(order.orderId)?.filledQty ?? null);
      const filled = outcome.ok ? outcome.value : null;
      if (filled !== null && filled !== this.venue.filledQty(order.orderId)) {
        this.fail(`final: order ${order.orderId} shows ${filled} filled but the venue filled ${this.venue.filledQty(order.orderId)}`);
      }
    }
    for (let shard = 0; shard < SHARD_COUNT; shard += 1) {
      const { ledger } = await recoverShard(shard, this.log.direct(), this.directSnapshots());
      for (let account = 0; account < SIM_ACCOUNTS; account += 1) {
        const accountId = accountIdOf(account);
        if (shardOfAccount(accountId) !== shard) continue;
        const live = await node.read(accountId, (found) => encodeAccount(found));
        const replayed = ledger.ledger.get(accountId);
        const same = live.ok ? replayed !== undefined && Buffer.from(live.value).equals(encodeAccount(replayed)) : replayed === undefined;
        if (!same) this.fail(`final: account ${accountId} in memory differs from what the log rebuilds`);
      }
    }
    if (this.problem !== null) throw new Failed(this.problem);
  }

  private directSnapshots(): SnapshotStore {
    return {
      load: (shard) => Promise.resolve(this.snapshots.saved.get(shard) ?? null),
      save: () => Promise.reject(new Error("the checker saves nothing")),
      close: () => Promise.resolve(),
    };
  }
}

export function runSchedule(options: RunOptions): Promise<RunResult> {
  return withMetricsWatchersRemoved(() => new Simulation(options).run());
}

export function accountIdOf(account: number): string {
  return `acct-${account}`;
}

function shardOfAccount(accountId: string): number {
  let hash = 0;
  for (let i = 0; i < accountId.length; i += 1) hash = (hash * 31 + accountId.charCodeAt(i)) >>> 0;
  return hash % SHARD_COUNT;
}

const FATE_RANK: Record<Fate, number> = { refused: 0, sent: 1, doubt: 2, acked: 3 };

/** A second create or cancel of the same thing: the strongest answer either got stands. */
function betterFate(previous: Fate | null, next: Fate | null): Fate | null {
  if (previous === null) return next;
  if (next === null) return previous;
  return FATE_RANK[next] > FATE_RANK[previous] ? next : previous;
}


