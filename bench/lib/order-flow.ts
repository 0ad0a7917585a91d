// A seeded stream of valid commands for the core state machine, as a busy broker's accounts
// send them: limit buys, sells of shares held, cancels (the client's request, then the
// venue's confirmation) and the venue's fills. The stream keeps its own model of which orders
// are open, so every command it makes is accepted by decide() without the stream reading
// the ledger: the benchmarks build commands outside the timed section and decide them inside.
import type { ApplyExecution, CancelOrder, Command, SubmitOrder } from "../../src/core/command.ts";
import type { Price, Qty } from "../../src/core/money.ts";
import type { Side } from "../../src/core/order.ts";
import { seededRandom } from "../../src/venue/seeded-random.ts";

/** Relative weights of what the next command is. */
export interface OrderFlowMix {
  buy: number;
  sell: number;
  /** A venue fill of the oldest open order: all that remains, or (one time in four) half of it. */
  fill: number;
  /** A client cancel of the oldest open order; the venue confirms it a few commands later. */
  cancel: number;
}

export interface OrderFlowOptions {
  accountCount: number;
  /** Each account starts holding this many symbols (bought and filled in the setup). */
  positionsPerAccount: number;
  seed: number;
  mix: OrderFlowMix;
}

/** Limit buys and sells only: the submit path. */
export const SUBMIT_MIX: OrderFlowMix = { buy: 9, sell: 1, fill: 0, cancel: 0 };
/** Mostly buys; about a third of the orders are filled and one in six canceled, the rest rest. */
export const TRADING_MIX: OrderFlowMix = { buy: 50, sell: 10, fill: 30, cancel: 10 };

export function describeMix(mix: OrderFlowMix): string {
  const total = mix.buy + mix.sell + mix.fill + mix.cancel;
  const share = (weight: number) => `${Math.round((100 * weight) / total)}%`;
  return (
    `${share(mix.buy)} limit buys, ${share(mix.sell)} limit sells, ${share(mix.fill)} fills (1 in ${Math.round(1 / PARTIAL_FILL_SHARE)} partial), ` +
    `${share(mix.cancel)} cancels, each then confirmed by the venue`
  );
}

const SYMBOLS = ["AAPL", "MSFT", "SPY", "GOOGL", "AMZN", "TSLA", "NVDA", "META"] as const;
/** In units of $0.0001: every symbol trades between $100.00 and $500.00, whole cents. */
const PRICE_CENTS_MIN = 10_000;
const PRICE_CENTS_MAX = 50_000;
const ORDER_QTY_MAX = 100;
/** Enough for the starting positions and every buy a benchmark makes: $10,000,000,000 an account. */
const DEPOSIT: bigint = 10_000_000_000n * 10_000n;
/** Enough shares that sells of up to ORDER_QTY_MAX never run out. */
const STARTING_POSITION_QTY: Qty = 100_000n;
/** How many cancels wait for the venue's confirmation: a venue answers a little later. */
const CANCELS_PENDING_MAX = 64;
const PARTIAL_FILL_SHARE = 0.25;
const START_MS = 1_700_000_000_000;

interface OpenOrder {
  accountId: string;
  orderId: string;
  remaining: Qty;
  price: Price;
}

export class OrderFlow {
  private readonly random: () => number;
  private readonly accountIds: string[];
  private readonly weightTotal: number;
  /** Oldest first; fills and cancels take the head. A ring would do; a head index is enough. */
  private open: OpenOrder[] = [];
  private openHead = 0;
  private readonly cancelsPending: OpenOrder[] = [];
  private orderCount = 0;
  private executionSeq = 0;
  private commandCount = 0;

  constructor(private readonly options: OrderFlowOptions) {
    if (options.positionsPerAccount > SYMBOLS.length) throw new Error(`order flow: at most ${SYMBOLS.length} positions an account`);
    if (options.mix.sell > 0 && options.positionsPerAccount < 1) throw new Error("order flow: sells need a starting position");
    this.random = seededRandom(options.seed);
    this.accountIds = Array.from({ length: options.accountCount }, (_, index) => `acct-${String(index).padStart(6, "0")}`);
    const { buy, sell, fill, cancel } = options.mix;
    this.weightTotal = buy + sell + fill + cancel;
  }

  get accounts(): readonly string[] {
    return this.accountIds;
  }

  /** The commands that open and fund every account and give it its starting positions. */
  *setup(): Generator<Command> {
    for (const accountId of this.accountIds) {
      yield { kind: "create_account", accountId, atMs: this.nowMs() };
      yield { kind: "deposit", accountId, amount: DEPOSIT, atMs: this.nowMs() };
      for (const symbol of SYMBOLS.slice(0, this.options.positionsPerAccount)) {
        const price = this.price();
        const orderId = this.nextOrderId();
        yield this.submit(accountId, orderId, symbol, "buy", STARTING_POSITION_QTY, price);
        yield this.execution(accountId, orderId, { kind: "fill", seq: ++this.executionSeq, qty: STARTING_POSITION_QTY, price });
      }
    }
  }

  /** Fills `into` with the next commands of the stream (it is reused: no allocation per chunk). */
  nextChunk(into: Command[]): void {
    for (let index = 0; index < into.length; index += 1) into[index] = this.next();
  }

  next(): Command {
    if (this.cancelsPending.length >= CANCELS_PENDING_MAX) return this.confirmCancel();
    const { buy, sell, fill } = this.options.mix;
    const draw = this.random() * this.weightTotal;
    if (draw < buy) return this.newOrder("buy");
    if (draw < buy + sell) return this.newOrder("sell");
    if (this.openCount() === 0) return this.newOrder("buy");
    if (draw < buy + sell + fill) return this.fillOldest();
    return this.cancelOldest();
  }

  private newOrder(side: Side): SubmitOrder {
    const accountId = this.accountIds[Math.floor(this.random() * this.accountIds.length)] ?? "";
    // Sells are of the symbols the account holds from the setup.
    const symbols = side === "buy" ? SYMBOLS.length : this.options.positionsPerAccount;
    const symbol = SYMBOLS[Math.floor(this.random() * symbols)];
    const qty = BigInt(1 + Math.floor(this.random() * ORDER_QTY_MAX));
    const price = this.price();
    const orderId = this.nextOrderId();
    this.open.push({ accountId, orderId, remaining: qty, price });
    return this.submit(accountId, orderId, symbol ?? "AAPL", side, qty, price);
  }

  private fillOldest(): ApplyExecution {
    const order = this.oldestOpen();
    const qty = order.remaining > 1n && this.random() < PARTIAL_FILL_SHARE ? order.remaining / 2n : order.remaining;
    order.remaining -= qty;
    if (order.remaining === 0n) this.dropOldest();
    return this.execution(order.accountId, order.orderId, { kind: "fill", seq: ++this.executionSeq, qty, price: order.price });
  }

  private cancelOldest(): CancelOrder {
    const order = this.oldestOpen();
    this.dropOldest();
    this.cancelsPending.push(order);
    return { kind: "cancel_order", accountId: order.accountId, orderId: order.orderId, atMs: this.nowMs() };
  }

  private confirmCancel(): ApplyExecution {
    const order = this.cancelsPending.shift();
    if (order === undefined) throw new Error("order flow: no cancel pending");
    return this.execution(order.accountId, order.orderId, { kind: "canceled", reason: "canceled by client" });
  }

  private submit(accountId: string, orderId: string, symbol: string, side: Side, qty: Qty, price: Price): SubmitOrder {
    return {
      kind: "submit_order",
      accountId,
      orderId,
      clientOrderId: orderId,
      symbol,
      side,
      type: "limit",
      timeInForce: "day",
      qty,
      limitPrice: price,
      stopPrice: null,
      askPrice: price,
      atMs: this.nowMs(),
    };
  }

  private execution(accountId: string, orderId: string, execution: ApplyExecution["execution"]): ApplyExecution {
    return { kind: "apply_execution", accountId, orderId, execution, atMs: this.nowMs() };
  }

  private oldestOpen(): OpenOrder {
    const order = this.open[this.openHead];
    if (order === undefined) throw new Error("order flow: no open order");
    return order;
  }

  private dropOldest(): void {
    this.openHead += 1;
    // Compact now and then so the array does not keep every order the stream ever made.
    if (this.openHead >= 65_536 && this.openHead * 2 >= this.open.length) {
      this.open = this.open.slice(this.openHead);
      this.openHead = 0;
    }
  }

  private openCount(): number {
    return this.open.length - this.openHead;
  }

  private price(): Price {
    const cents = PRICE_CENTS_MIN + Math.floor(this.random() * (PRICE_CENTS_MAX - PRICE_CENTS_MIN + 1));
    return BigInt(cents) * 100n;
  }

  /** Shaped like the node's UUIDv7 ids (36 characters), but from a counter: a seed reproduces a run. */
  private nextOrderId(): string {
    this.orderCount += 1;
    const id = `00000000-0000-7000-8000-${this.orderCount.toString(16).padStart(12, "0")}`;
    // A concatenation is a rope until first read; the node's ids (from Bun.randomUUIDv7() or a
    // decoded request) are flat, so flatten it here, outside the timed section (without hashing it).
    id.charCodeAt(0);
    return id;
  }

  /** A millisecond passes every thousand commands: the clock is in the command, as in the node. */
  private nowMs(): number {
    this.commandCount += 1;
    return START_MS + Math.floor(this.commandCount / 1000);
  }
}
