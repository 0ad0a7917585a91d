// The baseline: the same order workload done the way this OMS replaces, one Postgres
// transaction per order with fsync on, served behind the same kind of front as oms (a Connect
// server process, bench/baseline-server.ts) and driven by the same open-loop load generator and
// lean client as the e2e level, at the same rates and the same number of runs: so the ratio
// rows (bench/run.ts) compare like with like. Then its ceiling, found as e2e finds its own, and
// an audit that every acknowledged order is in the table and reserved exactly, so the figures
// are of work actually done.
import postgres from "postgres";
import { freePort } from "../src/rpc/free-port.ts";
import { startPostgres } from "../test/support/postgres.ts";
import { BenchProcesses, waitServing } from "./lib/bench-processes.ts";
import type { BenchLevel } from "./lib/level.ts";
import { LoadDriver } from "./lib/load-driver.ts";
import {
  findCeiling,
  highestSustained,
  JIT_WARMUP,
  latenciesOf,
  LOAD_ACCOUNTS,
  lowestNotSustained,
  medianRun,
  RATE_RUN,
  ratesFromEnvironment,
  repeatedRuns,
  runNote,
  runRate,
  runsNote,
  RUNS_PER_RATE,
  type RateRun,
  type RunTarget,
} from "./lib/rate-runs.ts";
import { spreadFigures, type Figure } from "./lib/report.ts";

export const BASELINE_LEVEL = "baseline.postgres";
/** The e2e level's unary target rates: every one both run is a ratio row. */
const RATES_PER_S: readonly number[] = ratesFromEnvironment("BENCH_BASELINE_RATES") ?? [1_000, 2_000, 5_000];
/** Above the target rates, rising until one is not kept up, then bisected. */
const CEILING_LADDER_PER_S: readonly number[] = [7_500, 10_000, 15_000];
const ROLES = ["server", "loader"] as const;

type Sql = postgres.Sql;

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
  budgetSeconds: 120,
  async run(log) {
    const server = await startPostgres();
    const sql = postgres(server.url, { max: 1, onnotice: () => undefined });
    const processes = new BenchProcesses();
    try {
      const durability = await durabilityNote(sql);
      for (const statement of SCHEMA) await sql.unsafe(statement);
      log(`postgres up at ${server.url}: ${durability}`);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      await waitServing(url, processes.start("server", ["bench/baseline-server.ts", "--port", String(port), "--database", server.url]));
      const loader = new LoadDriver(processes.start("loader", ["bench/e2e-load.ts", "--url", url, "--accounts", String(LOAD_ACCOUNTS), "--http", "2", "--client", "lean"], { stdoutIsProtocol: true }));
      const funded = await loader.request({ op: "fund" });
      log(`${LOAD_ACCOUNTS} accounts created and funded in ${String(funded["ms"])} ms through the server's AccountService`);
      const target: RunTarget = { processes, loader, roles: ROLES };
      const answered = { acknowledged: 0, failed: 0 };
      const count = (result: RateRun["result"]) => {
        answered.acknowledged += result.whole.latency.count;
        answered.failed += Object.values(result.whole.failures).reduce((sum, n) => sum + n, 0);
      };
      const run = async (ratePerSec: number) => {
        const done = await runRate(target, ratePerSec, RATE_RUN);
        count(done.result);
        return done;
      };
      count((await loader.request({ op: "run", ...JIT_WARMUP, inFlightMax: 2 * JIT_WARMUP.ratePerSec }))["result"] as RateRun["result"]);
      const byRate: RateRun[][] = [];
      for (const ratePerSec of RATES_PER_S) {
        const runs = await repeatedRuns(RUNS_PER_RATE, () => run(ratePerSec));
        byRate.push(runs);
        log(`${ratePerSec}/s: p99 ${latenciesOf(runs).map((l) => l.p99_us).join(" / ")} µs; ${runsNote(runs, null)}`);
      }
      // The ceiling from what the rates' runs kept up with (a rate counts if its median run did).
      const medianRuns = byRate.map((runs) => medianRun(runs));
      const ceilingRuns = await findCeiling(medianRuns, CEILING_LADDER_PER_S, run, log, "baseline");
      await auditReservations(sql, answered, log);
      return [...byRate.flatMap((runs) => rateFigures(runs, durability)), ceilingFigure([...medianRuns, ...ceilingRuns], durability)];
    } finally {
      await processes.stopAll();
      await sql.end({ timeout: 5 });
      await server.stop();
    }
  },
};

function rateFigures(runs: readonly RateRun[], durability: string): Figure[] {
  const ratePerSec = runs[0]?.result.ratePerSec ?? 0;
  const what = `SubmitOrder @ ${ratePerSec.toLocaleString("en-US")}/s`;
  return spreadFigures(BASELINE_LEVEL, what, latenciesOf(runs), {}, `${runsNote(runs, null)}; ${durability}`);
}

function ceilingFigure(runs: readonly RateRun[], durability: string): Figure {
  const sustainedPerSec = highestSustained(runs);
  const above = lowestNotSustained(runs);
  const tried = runs.map((run) => run.result.ratePerSec).join(", ");
  return {
    level: BASELINE_LEVEL,
    name: "highest sustained rate",
    value: sustainedPerSec ?? 0,
    unit: "orders/s",
    note: `of the rates tried (${tried}/s; a target rate by its median run); ${above === undefined ? "no rate tried overloaded it" : `not sustained at ${above.result.ratePerSec}/s: ${runNote(above, sustainedPerSec)}`}; ${durability}`,
  };
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
  return `Postgres ${version}, fsync on, synchronous_commit on, full_page_writes on, wal_sync_method ${setting.get("wal_sync_method")}; one transaction per order (BEGIN, SELECT … FOR UPDATE, INSERT, UPDATE, COMMIT) behind a Connect server (bench/baseline-server.ts, 32 connections, prepared statements)`;
}

/**
 * Every acknowledged order is in the table and reserved exactly (sum of qty × price equals sum
 * of reserved, in numeric): the figures are of work done. A call that failed at the client (its
 * deadline, in an overloaded run) may still have committed, so the table may hold up to that
 * many more.
 */
async function auditReservations(sql: Sql, answered: { acknowledged: number; failed: number }, log: (line: string) => void): Promise<void> {
  const { acknowledged, failed } = answered;
  const [row] = await sql<{ orders: string; ordered: string; reserved: string }[]>`
    select (select count(*) from orders)::text as orders,
           (select coalesce(sum(qty * limit_price), 0) from orders)::numeric(30,4)::text as ordered,
           (select sum(reserved) from accounts)::numeric(30,4)::text as reserved`;
  if (row === undefined) throw new Error("baseline: the audit query returned no row");
  const orders = Number(row.orders);
  if (orders < acknowledged || orders > acknowledged + failed) throw new Error(`baseline: ${acknowledged} orders acknowledged and ${failed} failed, but ${orders} in the table`);
  if (row.ordered !== row.reserved) throw new Error(`baseline: orders need ${row.ordered} reserved but accounts hold ${row.reserved}`);
  log(`audit: ${orders} orders in the table for ${acknowledged} acknowledged (${failed} failed at the client), reserved $${row.reserved} matches their cost`);
}
