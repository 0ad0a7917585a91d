// The projector keeps the SQL read model equal to the core's own ledger, exactly once: after a
// graceful restart, after SIGKILLs in the middle of a stream, with duplicate and fenced records
// in the log (ignored exactly as recovery ignores them), and it stops, naming the record, at a
// gap. Every projector here is an `oms project` child process.
// The file starts its own Kafka mock and Postgres, and fails if it cannot.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Producer } from "kafkajs";
import { findOrder } from "../../src/core/account.ts";
import { divideRounded } from "../../src/core/money.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import type { Ledger } from "../../src/core/state-machine.ts";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { recoverShard } from "../../src/node/recovery.ts";
import { connectPostgres, endPostgres, type PostgresSql } from "../../src/snapshot/postgres-connect.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { startKafkaMock, type KafkaMockCluster } from "../support/kafka-mock.ts";
import { recordingLogger, startPostgres, type PostgresServer } from "../support/postgres.ts";
import { commands, connectProducer, seededRandom, ShardOwners, TestClock, tradeRandomly, usd } from "./shard-owners.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
/** How long a test waits for what should take a second or two; a bound, not a measurement. */
const WAIT_MS_MAX = 20_000;

let kafka: KafkaMockCluster;
let postgres: PostgresServer;
let producer: Producer;
const children = new Set<ProjectorProcess>();
const pools: PostgresSql[] = [];
let databases = 0;

beforeAll(async () => {
  kafka = startKafkaMock({ brokers: 1 });
  postgres = await startPostgres();
  producer = await connectProducer(kafka.bootstrapServers);
});

afterAll(async () => {
  for (const child of children) child.process.kill("SIGKILL");
  await Promise.all(pools.map((sql) => endPostgres(sql)));
  await producer.disconnect();
  kafka.stop();
  await postgres.stop();
});

interface Setup {
  topic: string;
  configPath: string;
  sql: PostgresSql;
  owners: ShardOwners;
}

/** A fresh topic and a fresh database, and the cluster file a projector reads them from. */
async function setup(name: string, partitions: number, snapshotEveryRecords: number): Promise<Setup> {
  const topic = `wal-${name}`;
  kafka.createTopic(topic, partitions);
  const url = await postgres.createDatabase(`projector_${name}_${databases++}`);
  const dir = mkdtempSync(join(tmpdir(), "oms-projector-"));
  const configPath = join(dir, "cluster.json");
  const config = {
    shardCount: partitions,
    logLevel: "warn",
    snapshot: { everyRecords: snapshotEveryRecords },
    kafka: { brokers: kafka.bootstrapServers, topic, clientId: `test-${name}` },
    postgres: { url, connectRetryMs: 10_000 },
  };
  writeFileSync(configPath, JSON.stringify(config));
  const sql = await connectPostgres(url, {
    logger: recordingLogger().logger,
    retryForMs: 0,
    connectTimeoutMs: 5_000,
    maxConnections: 2,
    applicationName: "projector-test",
  });
  pools.push(sql);
  return { topic, configPath, sql, owners: new ShardOwners(producer, topic, partitions) };
}

class ProjectorProcess {
  readonly process;
  stderr = "";
  readonly #drained: Promise<void>;

  constructor(configPath: string) {
    const child = Bun.spawn([process.execPath, join(REPO_ROOT, "src/cli/main.ts"), "project", "--config", configPath], { cwd: REPO_ROOT, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    this.process = child;
    children.add(this);
    // Drained as it comes, so a chatty child never blocks on a full pipe.
    this.#drained = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.stderr += decoder.decode(chunk, { stream: true });
    })();
  }

  async exited(): Promise<number> {
    const code = await this.process.exited;
    await this.#drained;
    children.delete(this);
    return code;
  }
}

async function rowsOffsets(sql: PostgresSql, topic: string): Promise<bigint[]> {
  const rows = await sql<{ partition: number; next_offset: bigint }[]>`
    select partition, next_offset from projector_offsets where topic = ${topic} order by partition`.catch(() => []);
  return rows.map((row) => row.next_offset);
}

/** Waits until the rows reflect every record sent so far; fails at once if the projector died. */
async function waitCaughtUp(s: Setup, projector: ProjectorProcess): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  for (;;) {
    const offsets = await rowsOffsets(s.sql, s.topic);
    if (offsets.length === s.owners.ends.length && offsets.every((offset, partition) => offset === s.owners.ends[partition])) return;
    if (projector.process.exitCode !== null) throw new Error(`the projector exited ${projector.process.exitCode}: ${projector.stderr}`);
    if (Date.now() > deadline) throw new Error(`the projector did not catch up: rows at ${offsets}, log at ${s.owners.ends}\n${projector.stderr}`);
    await Bun.sleep(25);
  }
}

const total = (offsets: bigint[]) => offsets.reduce((sum, offset) => sum + offset, 0n);

function allAccounts(ledgers: Ledger[]) {
  return ledgers.flatMap((ledger) => [...ledger.values()]);
}

/** Query results as plain arrays of plain rows, for toEqual. */
async function rows(query: Promise<readonly object[]>): Promise<unknown[]> {
  return [...(await query)];
}

const byKey = <T extends { key: string }>(rows: T[]): T[] => rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Every row of the read model against the owners' ledgers and fills, in e4 units so no formatting is trusted. */
async function expectReadModelIsLedger(sql: PostgresSql, owners: ShardOwners): Promise<void> {
  const accounts = allAccounts(owners.ledgers);
  const accountRows = await sql<{ key: string; cash: bigint; reserved: bigint; trading_state: string; created_ms: bigint }[]>`
    select account_id as key, (cash * 10000)::bigint as cash, (reserved * 10000)::bigint as reserved, trading_state,
           (extract(epoch from created_at) * 1000)::bigint as created_ms from accounts`;
  expect(byKey(accountRows)).toEqual(
    byKey(accounts.map((a) => ({ key: a.id, cash: a.cash, reserved: a.heldCash, trading_state: a.tradingState, created_ms: BigInt(a.createdAtMs) }))),
  );

  const orderRows = await sql`
    select order_id as key, account_id, client_order_id, symbol, side, type, time_in_force, qty,
           (limit_price * 10000)::bigint as limit_e4, (stop_price * 10000)::bigint as stop_e4, status, filled_qty,
           (filled_avg_price * 10000)::bigint as avg_e4, replaces, replaced_by, reject_reason,
           (extract(epoch from created_at) * 1000)::bigint as created_ms, (extract(epoch from updated_at) * 1000)::bigint as updated_ms
    from orders`;
  const expectedOrders = accounts.flatMap((a) =>
    [...oldestFirst(a)].map((o) => ({
      key: o.id,
      account_id: a.id,
      client_order_id: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      time_in_force: o.timeInForce,
      qty: o.qty,
      limit_e4: o.limitPrice,
      stop_e4: o.stopPrice,
      status: o.status,
      filled_qty: o.filledQty,
      avg_e4: o.filledQty === 0n ? null : divideRounded(o.filledNotional, o.filledQty),
      replaces: o.replaces,
      replaced_by: o.replacedBy,
      reject_reason: o.rejectReason === "" ? null : o.rejectReason,
      created_ms: BigInt(o.createdAtMs),
      updated_ms: BigInt(o.updatedAtMs),
    })),
  );
  expect(byKey([...orderRows] as unknown as { key: string }[])).toEqual(byKey(expectedOrders));

  const positionRows = await sql<{ key: string; qty: bigint; cost: bigint }[]>`
    select account_id || '/' || symbol as key, qty, (cost_basis * 10000)::bigint as cost from positions`;
  expect(byKey(positionRows)).toEqual(
    byKey(accounts.flatMap((a) => [...a.positions.values()].map((p) => ({ key: `${a.id}/${p.symbol}`, qty: p.qty, cost: p.costBasis })))),
  );

  const fillRows = await sql<{ key: string; account_id: string; qty: bigint; price: bigint; at_ms: bigint }[]>`
    select order_id || '#' || execution_seq as key, account_id, qty, (price * 10000)::bigint as price,
           (extract(epoch from executed_at) * 1000)::bigint as at_ms from fills`;
  expect(byKey(fillRows)).toEqual(
    byKey(owners.fills.map((f) => ({ key: `${f.orderId}#${f.executionSeq}`, account_id: f.accountId, qty: f.qty, price: f.price, at_ms: BigInt(f.atMs) }))),
  );

  // The same facts from SQL alone: each order's filled qty and average are its fills'.
  const mismatched = await sql`
    select o.order_id from orders o left join
      (select order_id, sum(qty) as qty, sum(qty * price) as notional from fills group by order_id) f using (order_id)
    where o.filled_qty <> coalesce(f.qty, 0) or o.filled_avg_price is distinct from round(f.notional / f.qty, 4)`;
  expect([...mismatched]).toEqual([]);
}

/** Alice and Dave trade by hand: each figure below is worked out on paper. */
function tradeByHand(owners: ShardOwners, clock: TestClock): void {
  const d = (command: Parameters<ShardOwners["decide"]>[0]) => owners.decide(command);
  d(commands.create("alice", clock.next()));
  d(commands.deposit("alice", "100000", clock.next()));
  d(commands.limit("alice", "a-1", "buy", "AAPL", 100n, "150.00", clock.next()));
  d(commands.fill("alice", "a-1", 1, 40n, "149.50", clock.next()));
  d(commands.fill("alice", "a-1", 2, 60n, "149.75", clock.next()));
  d(commands.limit("alice", "a-2", "sell", "AAPL", 30n, "155.00", clock.next()));
  d(commands.fill("alice", "a-2", 1, 10n, "155.10", clock.next()));
  d(commands.cancel("alice", "a-2", clock.next()));
  d(commands.canceled("alice", "a-2", clock.next()));
  d(commands.create("dave", clock.next()));
  d(commands.deposit("dave", "50000.25", clock.next()));
  d(commands.limit("dave", "d-1", "buy", "MSFT", 50n, "300.00", clock.next()));
  d(commands.replace("dave", "d-1", "d-2", 50n, "305.00", clock.next()));
  d(commands.replaced("dave", "d-1", "d-2", clock.next()));
  d(commands.fill("dave", "d-2", 1, 50n, "304.00", clock.next()));
  d(commands.limit("dave", "d-3", "buy", "TSLA", 10n, "200.00", clock.next()));
  d(commands.rejected("dave", "d-3", "no liquidity", clock.next()));
  d(commands.marketBuy("dave", "d-4", "NVDA", 5n, "120.00", clock.next()));
  d(commands.fill("dave", "d-4", 1, 5n, "120.01", clock.next()));
  d(commands.limit("dave", "d-5", "buy", "NVDA", 3n, "100.00", clock.next()));
  d(commands.withdraw("dave", "0.2", clock.next()));
  d(commands.setTradingState("dave", "trading_blocked", clock.next()));
}

async function expectHandTradesInRows(sql: PostgresSql): Promise<void> {
  const [alice] = await sql`select cash::text as cash, reserved::text as reserved from accounts where account_id = 'alice'`;
  // 100000 − 40 × 149.50 − 60 × 149.75 + 10 × 155.10
  expect(alice).toEqual({ cash: "86586", reserved: "0" });
  const [dave] = await sql`select cash::text as cash, reserved::text as reserved, trading_state from accounts where account_id = 'dave'`;
  // 50000.25 − 50 × 304 − 5 × 120.01 − 0.2 withdrawn; d-5 holds 3 × 100
  expect(dave).toEqual({ cash: "34200", reserved: "300", trading_state: "trading_blocked" });
  const orders = await sql`select order_id, status, filled_qty, filled_avg_price::text as avg, replaces, replaced_by, reject_reason
                           from orders where account_id in ('alice', 'dave') order by order_id`;
  expect(await rows(Promise.resolve(orders))).toEqual([
    { order_id: "a-1", status: "filled", filled_qty: 100n, avg: "149.65", replaces: null, replaced_by: null, reject_reason: null },
    { order_id: "a-2", status: "canceled", filled_qty: 10n, avg: "155.1", replaces: null, replaced_by: null, reject_reason: null },
    { order_id: "d-1", status: "replaced", filled_qty: 0n, avg: null, replaces: null, replaced_by: "d-2", reject_reason: null },
    { order_id: "d-2", status: "filled", filled_qty: 50n, avg: "304", replaces: "d-1", replaced_by: null, reject_reason: null },
    { order_id: "d-3", status: "rejected", filled_qty: 0n, avg: null, replaces: null, replaced_by: null, reject_reason: "no liquidity" },
    { order_id: "d-4", status: "filled", filled_qty: 5n, avg: "120.01", replaces: null, replaced_by: null, reject_reason: null },
    { order_id: "d-5", status: "new", filled_qty: 0n, avg: null, replaces: null, replaced_by: null, reject_reason: null },
  ]);
  const positions = await sql`select account_id, symbol, qty, cost_basis::text as cost from positions
                              where account_id in ('alice', 'dave') order by account_id, symbol`;
  // Alice sold 10 of 100: the cost basis drops by a tenth, 14965 → 13468.5.
  expect(await rows(Promise.resolve(positions))).toEqual([
    { account_id: "alice", symbol: "AAPL", qty: 90n, cost: "13468.5" },
    { account_id: "dave", symbol: "MSFT", qty: 50n, cost: "15200" },
    { account_id: "dave", symbol: "NVDA", qty: 5n, cost: "600.05" },
  ]);
  const [fills] = await sql`select count(*)::int as count from fills where account_id in ('alice', 'dave')`;
  expect(fills).toEqual({ count: 5 });
}

function createTraders(owners: ShardOwners, clock: TestClock, count: number): string[] {
  const ids = Array.from({ length: count }, (_, index) => `trader-${index}`);
  for (const id of ids) {
    owners.decide(commands.create(id, clock.next()));
    owners.decide(commands.deposit(id, "20000", clock.next()));
  }
  return ids;
}

test("the rows equal the core's ledger; stopped, then restarted after more records, it adds them exactly once", async () => {
  const s = await setup("restart", 3, 40);
  const clock = new TestClock();
  tradeByHand(s.owners, clock);
  expect(new Set(["alice", "dave"].map((id) => s.owners.shardOf(id))).size).toBe(2);
  const traders = createTraders(s.owners, clock, 12);
  tradeRandomly(s.owners, seededRandom(7), clock, traders, 400);
  await s.owners.flush();

  const first = new ProjectorProcess(s.configPath);
  await waitCaughtUp(s, first);
  await expectHandTradesInRows(s.sql);
  await expectReadModelIsLedger(s.sql, s.owners);
  first.process.kill("SIGTERM");
  expect(await first.exited()).toBe(0);

  // Alice sells out of AAPL (its row goes) and the traders go on; one partition gets nothing new.
  s.owners.decide(commands.limit("alice", "a-3", "sell", "AAPL", 90n, "160.00", clock.next()));
  s.owners.decide(commands.fill("alice", "a-3", 1, 90n, "160.00", clock.next()));
  tradeRandomly(s.owners, seededRandom(8), clock, traders, 300);
  await s.owners.flush();
  const second = new ProjectorProcess(s.configPath);
  await waitCaughtUp(s, second);
  await expectReadModelIsLedger(s.sql, s.owners);
  const [alice] = await s.sql`select cash::text as cash from accounts where account_id = 'alice'`;
  expect(alice).toEqual({ cash: "100986" });
  expect(await rows(s.sql`select * from positions where account_id = 'alice'`)).toEqual([]);
  const snapshots = await s.sql<{ partition: number }[]>`select partition from projector_snapshots where topic = ${s.topic}`;
  expect(snapshots.length).toBe(3);
  second.process.kill("SIGTERM");
  expect(await second.exited()).toBe(0);
}, 40_000);

test("SIGKILLed mid-stream three times while the log grows, the restarted projector ends with every row exactly once", async () => {
  const s = await setup("crash", 4, 30);
  const clock = new TestClock();
  const traders = createTraders(s.owners, clock, 16);
  const random = seededRandom(42);
  await s.owners.flush();
  for (let round = 0; round < 3; round++) {
    const projector = new ProjectorProcess(s.configPath);
    const before = total(await rowsOffsets(s.sql, s.topic));
    // Keep writing, as shard owners do, until the projector has committed a few hundred records
    // (and saved snapshots on the way); then write a burst and kill it while it works through it.
    const deadline = Date.now() + WAIT_MS_MAX;
    while (total(await rowsOffsets(s.sql, s.topic)) < before + 300n) {
      if (projector.process.exitCode !== null) throw new Error(`the projector exited: ${projector.stderr}`);
      if (Date.now() > deadline) throw new Error(`the projector made no progress\n${projector.stderr}`);
      tradeRandomly(s.owners, random, clock, traders, 20);
      await s.owners.flush();
      await Bun.sleep(20);
    }
    for (let burst = 0; burst < 10; burst++) {
      tradeRandomly(s.owners, random, clock, traders, 20);
      await s.owners.flush();
    }
    projector.process.kill("SIGKILL");
    expect(await projector.exited()).not.toBe(0);
  }
  const last = new ProjectorProcess(s.configPath);
  await waitCaughtUp(s, last);
  await expectReadModelIsLedger(s.sql, s.owners);
  expect(s.owners.fills.length).toBeGreaterThan(100);
  last.process.kill("SIGTERM");
  expect(await last.exited()).toBe(0);
}, 40_000);

/** What recovery makes of the same records, through the node's own replay. */
async function recoveredLedger(records: [RecordHeader, LogRecord][]): Promise<Ledger> {
  const dir = mkdtempSync(join(tmpdir(), "oms-projector-replay-"));
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  try {
    for (const [header, record] of records) await log.append(header, record);
    return (await recoverShard(0, log, snapshots)).ledger.ledger;
  } finally {
    await log.close();
    await snapshots.close();
  }
}

test("duplicate records and a fenced owner's records are ignored exactly as recovery ignores them", async () => {
  const s = await setup("fencing", 2, 1_000);
  const at = (n: number) => Date.UTC(2026, 0, 2) + n * 1_000;
  const stamp = (epoch: bigint, sequence: bigint): RecordHeader => ({ shard: 0, epoch, sequence });
  const created: LogRecord = { accountId: "carol", events: [{ kind: "account_created", atMs: at(1) }] };
  const deposit = (amount: string, n: number): LogRecord => ({ accountId: "carol", events: [{ kind: "cash_deposited", amount: usd(amount), atMs: at(n) }] });
  const buy: LogRecord = {
    accountId: "carol",
    events: [
      {
        kind: "order_accepted",
        terms: { id: "c-1", clientOrderId: "c-1", symbol: "F", side: "buy", type: "limit", timeInForce: "day", qty: 10n, limitPrice: usd("12.00"), stopPrice: null, collarPrice: usd("12.00"), replaces: null },
        holdCash: usd("120"),
        holdQty: 0n,
        atMs: at(4),
      },
    ],
  };
  const fill = (seq: number, qty: bigint, price: string, n: number): LogRecord => ({
    accountId: "carol",
    events: [{ kind: "order_filled", orderId: "c-1", executionSeq: seq, qty, price: usd(price), atMs: at(n) }],
  });
  const marker: LogRecord = { accountId: "", events: [] };
  const records: [RecordHeader, LogRecord][] = [
    [stamp(1n, 0n), created],
    [stamp(1n, 1n), deposit("1000", 2)],
    [stamp(1n, 1n), deposit("1000", 2)], // a retried send: same sequence twice
    [stamp(1n, 2n), buy],
    [stamp(1n, 3n), fill(1, 4n, "11.50", 5)],
    [stamp(1n, 3n), fill(1, 4n, "11.50", 5)], // the same fill record again
    [stamp(2n, 4n), marker], // a new owner takes the shard
    [stamp(1n, 4n), deposit("999", 6)], // the fenced owner still writes
    [stamp(1n, 4n), fill(2, 6n, "11.00", 6)],
    [stamp(2n, 4n), fill(2, 6n, "11.75", 7)],
    [stamp(2n, 5n), deposit("0.0001", 8)],
  ];
  for (const [header, record] of records) s.owners.queueRecord(0, header, record);
  await s.owners.flush();
  const projector = new ProjectorProcess(s.configPath);
  await waitCaughtUp(s, projector);

  const recovered = (await recoveredLedger(records)).get("carol");
  if (recovered === undefined) throw new Error("recovery lost carol");
  const [carol] = await s.sql<{ cash: bigint; reserved: bigint }[]>`
    select (cash * 10000)::bigint as cash, (reserved * 10000)::bigint as reserved from accounts where account_id = 'carol'`;
  expect(carol).toEqual({ cash: recovered.cash, reserved: recovered.heldCash });
  // 1000 − 4 × 11.50 − 6 × 11.75 + 0.0001: one deposit of 1000, the fenced deposit and fill absent.
  expect(recovered.cash).toBe(usd("883.5001"));
  const order = findOrder(recovered, "c-1");
  const [row] = await s.sql`select status, filled_qty, (filled_avg_price * 10000)::bigint as avg from orders where order_id = 'c-1'`;
  expect(row).toEqual({ status: order?.status, filled_qty: order?.filledQty, avg: divideRounded(order?.filledNotional ?? 0n, 10n) });
  expect(row?.["status"]).toBe("filled");
  const fills = await s.sql`select execution_seq, qty, price::text as price from fills order by execution_seq`;
  expect(await rows(Promise.resolve(fills))).toEqual([
    { execution_seq: 1n, qty: 4n, price: "11.5" },
    { execution_seq: 2n, qty: 6n, price: "11.75" },
  ]);
  projector.process.kill("SIGTERM");
  expect(await projector.exited()).toBe(0);
}, 30_000);

test("a gap in a partition's sequences stops the projector, naming the record; the rows stay at the record before it", async () => {
  const s = await setup("gap", 2, 1_000);
  const stamp = (sequence: bigint): RecordHeader => ({ shard: 1, epoch: 1n, sequence });
  s.owners.queueRecord(1, stamp(0n), { accountId: "dave", events: [{ kind: "account_created", atMs: 1 }] });
  s.owners.queueRecord(1, stamp(1n), { accountId: "dave", events: [{ kind: "cash_deposited", amount: usd("5"), atMs: 2 }] });
  s.owners.queueRecord(1, stamp(3n), { accountId: "dave", events: [{ kind: "cash_deposited", amount: usd("7"), atMs: 3 }] });
  await s.owners.flush();
  const projector = new ProjectorProcess(s.configPath);
  expect(await projector.exited()).toBe(1);
  expect(projector.stderr).toContain(
    `topic ${s.topic} partition 1 offset 2: record has sequence 3 but 2 was expected; the log has a gap`,
  );
  expect(await rowsOffsets(s.sql, s.topic)).toEqual([0n, 2n]);
  expect(await rows(s.sql`select account_id, cash::text as cash from accounts`)).toEqual([{ account_id: "dave", cash: "5" }]);
}, 30_000);
