// The baseline: the same order workload done the way this OMS replaces, one Postgres
// transaction per order with fsync on (BEGIN; SELECT … FOR UPDATE; check buying power;
// INSERT the order; UPDATE reserved; COMMIT), so the suite can say how much faster in-memory
// nodes plus a log are. It runs on a throwaway server (test/support/postgres.ts), measures
// 32 closed-loop clients, 1 client, and open-loop runs at two fixed rates, then checks that
// every accepted order is reserved exactly, so the figures are of work actually done.
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { CASH_DECIMALS, formatCash, parseDecimal, type Cash, type Price, type Qty } from "../src/core/money.ts";
import { startPostgres } from "../test/support/postgres.ts";
import { LatencyHistogram, type LatencySummary } from "./lib/histogram.ts";
import type { BenchLevel } from "./lib/level.ts";
import { runOpenLoop } from "./lib/open-loop.ts";
import type { Figure } from "./lib/report.ts";

const LEVEL = "baseline.postgres";
const ACCOUNTS = 1_000;
/** acct-0000 … acct-0999, made the same way in SQL (seeding) and in TypeScript (orders). */
const ACCOUNT_ID_PREFIX = "acct-";
/** $100,000,000 each: covers ~5,000 orders of the largest cost per account, far past a run's ~100. */
const ACCOUNT_CASH = "100000000";
const SYMBOLS = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA", "JPM"] as const;
const ORDER_QTY_MAX = 100;
/** Limit prices from $10.00 to $200.00 in cents, so qty × price is exact in numeric(20,4). */
const PRICE_CENTS_MIN = 1_000;
const PRICE_CENTS_MAX = 20_000;
const SEED = 0x0b5e_11e5;

const CLIENTS_MANY = 32;
/** The pool holds one connection per closed-loop client; the server allows 50. */
const POOL_CONNECTIONS_MAX = CLIENTS_MANY;
const WARMUP_MS = 2_000;
const MANY_CLIENTS_MS = 10_000;
const ONE_CLIENT_WARMUP_MS = 1_000;
const ONE_CLIENT_MS = 5_000;
/**
 * Fixed, not derived from the closed-loop result, so runs compare: 2,000/s is about two thirds
 * of what 32 clients sustain on 2 cores (near the knee, where queueing starts to show) and
 * 1,000/s is moderate load. The open-loop driver polls with setImmediate and takes up to half a
 * core itself, so Postgres has less CPU here than under the closed loop.
 */
const OPEN_LOOP_RATES_PER_SEC = [1_000, 2_000] as const;
const OPEN_LOOP_MS = 8_000;
/** Two seconds of arrivals queued in the pool means the server has fallen behind for good. */
const OPEN_LOOP_BACKLOG_S_MAX = 2;

type Sql = postgres.Sql;
interface AccountRow {
  cash: string;
  reserved: string;
}
interface OrderTicket {
  accountId: string;
  clientOrderId: string;
  symbol: string;
  qty: Qty;
  limitPrice: Price;
}
type PlaceResult = "accepted" | "rejected";

const SCHEMA = [
  `create table accounts (
     account_id text primary key,
     cash numeric(20,4) not null check (cash >= 0),
     reserved numeric(20,4) not null check (reserved >= 0))`,
  `create table orders (
     order_id uuid primary key,
     account_id text not null references accounts (account_id),
     client_order_id text not null,
     symbol text not null,
     side text not null check (side in ('buy', 'sell')),
     type text not null check (type in ('limit', 'market')),
     qty bigint not null check (qty > 0),
     limit_price numeric(20,4),
     status text not null,
     created_at timestamptz not null default now(),
     unique (account_id, client_order_id))`,
];

export const level: BenchLevel = {
  name: "baseline",
  budgetSeconds: 50,
  async run(log) {
    const server = await startPostgres();
    let sql: Sql | undefined;
    try {
      sql = connect(server.url);
      const durability = await durabilityNote(sql);
      log(`postgres up at ${server.url}: ${durability}`);
      await createSchema(sql);
      log(`schema created, ${ACCOUNTS} accounts funded with $${ACCOUNT_CASH} each`);
      return await measure(sql, durability, log);
    } finally {
      await sql?.end({ timeout: 5 });
      await server.stop();
    }
  },
};

function connect(url: string): Sql {
  return postgres(url, {
    max: POOL_CONNECTIONS_MAX,
    prepare: true,
    connect_timeout: 10,
    // Connections live for the whole run (0 and null: never closed for idling or age): a
    // reconnect mid-measurement would show as latency.
    idle_timeout: 0,
    max_lifetime: null,
    keep_alive: 60,
    fetch_types: false,
    debug: false,
    onnotice: () => undefined,
    connection: {
      application_name: "oms-bench-baseline",
      statement_timeout: 10_000,
      lock_timeout: 5_000,
      TimeZone: "UTC",
    },
  });
}

/** Refuses to measure unless every commit waits for its WAL flush, as a real OMS database would. */
async function durabilityNote(sql: Sql): Promise<string> {
  const rows = await sql<{ name: string; setting: string }[]>`
    select name, setting from pg_settings
    where name in ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')`;
  const setting = new Map(rows.map((row) => [row.name, row.setting]));
  for (const name of ["fsync", "synchronous_commit", "full_page_writes"]) {
    if (setting.get(name) !== "on") throw new Error(`baseline: ${name} is ${setting.get(name) ?? "unknown"}, the baseline needs it on`);
  }
  const version = (setting.get("server_version") ?? "unknown").split(" ")[0];
  return `Postgres ${version}, fsync on, synchronous_commit on, full_page_writes on, wal_sync_method ${setting.get("wal_sync_method")}`;
}

async function createSchema(sql: Sql): Promise<void> {
  for (const statement of SCHEMA) await sql.unsafe(statement);
  await sql`
    insert into accounts (account_id, cash, reserved)
    select ${ACCOUNT_ID_PREFIX}::text || lpad(n::text, 4, '0'), ${ACCOUNT_CASH}::numeric, 0
    from generate_series(0, ${ACCOUNTS - 1}) as n`;
  await sql`vacuum analyze accounts`;
}

function accountId(index: number): string {
  return `${ACCOUNT_ID_PREFIX}${String(index).padStart(4, "0")}`;
}

/** What an RDBMS-per-order OMS does for each order: five round trips and a WAL flush at COMMIT. */
async function placeOrder(sql: Sql, order: OrderTicket): Promise<PlaceResult> {
  const cost: Cash = order.qty * order.limitPrice;
  return sql.begin("isolation level read committed read write", async (tx) => {
    const [account] = await tx<AccountRow[]>`
      select cash, reserved from accounts where account_id = ${order.accountId} for update`;
    if (account === undefined) throw new Error(`baseline: no account ${order.accountId}`);
    // A rejection commits a transaction that wrote nothing, which flushes no WAL.
    if (cashOf(account.cash) - cashOf(account.reserved) < cost) return "rejected" as const;
    await tx`
      insert into orders (order_id, account_id, client_order_id, symbol, side, type, qty, limit_price, status)
      values (${randomUUID()}, ${order.accountId}, ${order.clientOrderId}, ${order.symbol}, 'buy', 'limit',
              ${order.qty.toString()}, ${formatCash(order.limitPrice)}::numeric, 'accepted')`;
    await tx`
      update accounts set reserved = reserved + ${formatCash(cost)}::numeric where account_id = ${order.accountId}`;
    return "accepted" as const;
  });
}

function cashOf(text: string): Cash {
  const parsed = parseDecimal(text, CASH_DECIMALS, CASH_DECIMALS);
  if (!parsed.ok) throw new Error(`baseline: cash column read back as "${text}": ${parsed.problem}`);
  return parsed.value;
}

/** Random account, symbol, qty and price per order from a seeded generator; ids unique per run. */
class OrderFlow {
  private state: number;
  private placed = 0;
  accepted = 0;
  rejected = 0;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): OrderTicket {
    const index = this.placed++;
    const price_cents = PRICE_CENTS_MIN + this.below(PRICE_CENTS_MAX - PRICE_CENTS_MIN + 1);
    return {
      accountId: accountId(this.below(ACCOUNTS)),
      clientOrderId: `bench-${index}`,
      symbol: SYMBOLS[this.below(SYMBOLS.length)] ?? "AAPL",
      qty: BigInt(1 + this.below(ORDER_QTY_MAX)),
      limitPrice: BigInt(price_cents) * (10n ** BigInt(CASH_DECIMALS - 2)),
    };
  }

  async place(sql: Sql): Promise<void> {
    const result = await placeOrder(sql, this.next());
    if (result === "accepted") this.accepted += 1;
    else this.rejected += 1;
  }

  /** mulberry32: small, fast and good enough to spread orders over accounts. */
  private below(bound: number): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * bound);
  }
}

interface ClosedLoopResult {
  ordersPerSec: number;
  latency: LatencySummary;
}

/** `clients` loops each placing one order after another; only orders started and done inside the window count. */
async function runClosedLoop(clients: number, warmupMs: number, durationMs: number, place: () => Promise<void>): Promise<ClosedLoopResult> {
  const histogram = new LatencyHistogram();
  const measureFrom = performance.now() + warmupMs;
  const end = measureFrom + durationMs;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const started = performance.now();
      await place();
      const done = performance.now();
      if (started >= measureFrom && done <= end) histogram.recordMs(done - started);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { ordersPerSec: Math.round(histogram.count / (durationMs / 1000)), latency: histogram.summary() };
}

async function measure(sql: Sql, durability: string, log: (line: string) => void): Promise<Figure[]> {
  const flow = new OrderFlow(SEED);
  const place = () => flow.place(sql);
  const figures: Figure[] = [];
  const many = await runClosedLoop(CLIENTS_MANY, WARMUP_MS, MANY_CLIENTS_MS, place);
  log(`${CLIENTS_MANY} clients: ${many.ordersPerSec} orders/s, ${latencyLine(many.latency)}`);
  const shape = `one transaction per order (BEGIN, SELECT … FOR UPDATE, INSERT, UPDATE, COMMIT), random account of ${ACCOUNTS.toLocaleString("en-US")}, ${POOL_CONNECTIONS_MAX} connections, prepared statements`;
  figures.push(
    figure(`orders/s, ${CLIENTS_MANY} clients`, many.ordersPerSec, "orders/s", `${durability}; ${shape}; closed loop ${MANY_CLIENTS_MS / 1000} s`),
    ...latencyFigures(`${CLIENTS_MANY} clients`, many.latency, durability),
  );
  const one = await runClosedLoop(1, ONE_CLIENT_WARMUP_MS, ONE_CLIENT_MS, place);
  log(`1 client: ${one.ordersPerSec} orders/s, ${latencyLine(one.latency)}`);
  figures.push(
    figure("orders/s, 1 client", one.ordersPerSec, "orders/s", durability),
    figure("p50 latency, 1 client", one.latency.p50_us, "µs", durability),
    figure("p99 latency, 1 client", one.latency.p99_us, "µs", durability),
  );
  for (const ratePerSec of OPEN_LOOP_RATES_PER_SEC) {
    const inFlightMax = OPEN_LOOP_BACKLOG_S_MAX * ratePerSec;
    const open = await runOpenLoop({ ratePerSec, durationMs: OPEN_LOOP_MS, warmupMs: WARMUP_MS, send: place, inFlightMax });
    log(`open loop ${ratePerSec}/s: ${open.achievedPerSec} orders/s, ${latencyLine(open.latency)}${open.overloaded ? ", OVERLOADED" : ""}`);
    if (open.errors > 0) throw new Error(`baseline: ${open.errors} orders failed in the open-loop run at ${ratePerSec}/s`);
    const rate = `open loop ${ratePerSec.toLocaleString("en-US")}/s`;
    const note = durability + (open.overloaded ? `; OVERLOADED: ${inFlightMax} in flight, stopped early` : "");
    figures.push(figure(`orders/s achieved, ${rate}`, open.achievedPerSec, "orders/s", note), ...latencyFigures(rate, open.latency, note));
  }
  await auditReservations(sql, flow, log);
  return figures;
}

function figure(name: string, value: number, unit: string, note: string): Figure {
  return { level: LEVEL, name, value, unit, note };
}

function latencyFigures(load: string, latency: LatencySummary, note: string): Figure[] {
  return [
    figure(`p50 latency, ${load}`, latency.p50_us, "µs", note),
    figure(`p99 latency, ${load}`, latency.p99_us, "µs", note),
    figure(`p99.9 latency, ${load}`, latency.p999_us, "µs", note),
    figure(`max latency, ${load}`, latency.max_us, "µs", note),
  ];
}

function latencyLine(latency: LatencySummary): string {
  return `p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, p99.9 ${latency.p999_us} µs, max ${latency.max_us} µs (${latency.count} orders)`;
}

/**
 * Every accepted order is in the table and reserved exactly (sum of qty × price equals sum of
 * reserved, in numeric), and none were rejected: a rejection would mean the funding assumption
 * broke and cheaper read-only transactions crept into the figures.
 */
async function auditReservations(sql: Sql, flow: OrderFlow, log: (line: string) => void): Promise<void> {
  const [row] = await sql<{ orders: string; ordered: string; reserved: string }[]>`
    select (select count(*) from orders)::text as orders,
           (select coalesce(sum(qty * limit_price), 0) from orders)::numeric(30,4)::text as ordered,
           (select sum(reserved) from accounts)::numeric(30,4)::text as reserved`;
  if (row === undefined) throw new Error("baseline: the audit query returned no row");
  if (Number(row.orders) !== flow.accepted) throw new Error(`baseline: ${flow.accepted} orders accepted but ${row.orders} in the table`);
  if (row.ordered !== row.reserved) throw new Error(`baseline: orders need ${row.ordered} reserved but accounts hold ${row.reserved}`);
  if (flow.rejected > 0) throw new Error(`baseline: ${flow.rejected} orders rejected; fund the accounts for the whole run`);
  log(`audit: ${row.orders} orders, reserved $${row.reserved} matches their cost, none rejected`);
}
