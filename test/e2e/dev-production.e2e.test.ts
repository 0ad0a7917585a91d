// `oms dev --kafka … --postgres …` as a new user tries it: orders go through, kcat reads them
// from the write-ahead-log topic, psql finds them in the read model, and kill -9 plus a
// restart loses nothing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { OrderService, OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import type { KafkaMockCluster } from "../../src/log/kafka-mock-cluster.ts";
import { processAlive as alive } from "../../src/cli/child-process.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { startKafkaMock } from "../support/kafka-mock.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { freePort, killDev, startDev, type DevProcess } from "./dev-process.ts";

const SHARD_COUNT = 16;
const WAIT_MS = 20_000;
let kafka: KafkaMockCluster;
let postgres: PostgresServer;
let dev: DevProcess;
const dataDir = mkdtempSync(join(tmpdir(), "oms-dev-prod-"));
const psqlBin = () => {
  const found = Bun.spawnSync(["bash", "-c", "ls /usr/lib/postgresql/*/bin/psql | tail -1"]).stdout.toString().trim();
  return found === "" ? "psql" : found;
};

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${dev.output()}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  kafka = startKafkaMock({ brokers: 1, topics: [{ name: "oms.wal", partitions: SHARD_COUNT }] });
  postgres = await startPostgres();
  dev = await startDev(dataDir, await freePort(), undefined, ["--kafka", kafka.bootstrapServers, "--postgres", postgres.url]);
}, 60_000);

afterAll(async () => {
  await killDev(dev);
  kafka.stop();
  await postgres.stop();
});

/** Each node's pid, from the claim it keeps on its data directory. */
function nodePids(): number[] {
  return ["node-a", "node-b"].map((id) => Number(readFileSync(join(dataDir, id, "owner.pid"), "utf8").trim()));
}

test("orders go through; kcat sees them in the topic; psql sees them in the read model; kill -9 and a restart lose nothing", async () => {
  const transport = createClientTransport(dev.url, "connect", { apiKey: dev.adminKey });
  const accounts = createClient(AccountService, transport);
  const orders = createClient(OrderService, transport);
  await accounts.createAccount({ accountId: "prod-alice" });
  await accounts.deposit({ accountId: "prod-alice", amount: "10000" });
  const bought = await orders.submitOrder({ accountId: "prod-alice", symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "10" });
  const filled = await until("the fill", async () => {
    const { order } = await orders.getOrder({ accountId: "prod-alice", key: { case: "orderId", value: bought.order!.id } });
    return order?.status === OrderStatus.FILLED ? order : null;
  });

  // kcat, an outside Kafka consumer, reads the records of this account from the topic.
  const kcat = Bun.spawnSync(["kcat", "-C", "-b", kafka.bootstrapServers, "-t", "oms.wal", "-o", "beginning", "-e", "-q", "-f", "%k\n"], { stdout: "pipe", stderr: "pipe" });
  expect(kcat.exitCode).toBe(0);
  const keys = kcat.stdout.toString().split("\n").filter((key) => key === "prod-alice");
  expect(keys.length).toBeGreaterThanOrEqual(4); // created, deposited, accepted, filled

  // psql finds the order, its fill and the position in the read model.
  const psql = (query: string) => Bun.spawnSync([psqlBin(), postgres.url, "-At", "-c", query], { stdout: "pipe", stderr: "pipe" }).stdout.toString().trim();
  const row = await until("the read model", async () => {
    const text = psql(`select status || '|' || filled_qty from orders where order_id = '${filled.id}'`);
    return text === "filled|10" ? text : null;
  });
  expect(row).toBe("filled|10");
  expect(psql(`select qty from positions where account_id = 'prod-alice' and symbol = 'AAPL'`)).toBe("10");
  expect(Number(psql(`select count(*) from fills where order_id = '${filled.id}'`))).toBeGreaterThanOrEqual(1);

  const view = async () => {
    const { account } = await accounts.getAccount({ accountId: "prod-alice" });
    const { orders: all } = await orders.listOrders({ accountId: "prod-alice", status: OrderStatusFilter.ALL });
    return { cash: account!.cash, reserved: account!.reserved, orders: all.map((o) => [o.id, o.status, o.filledQty, o.filledAvgPrice]) };
  };
  const before = await view();
  await killDev(dev);
  const keysBefore = [dev.adminKey, dev.accountKey];
  dev = await startDev(dataDir, dev.port, undefined, ["--kafka", kafka.bootstrapServers, "--postgres", postgres.url]);
  // The keys live in Postgres: the same ones are printed and still work (view() uses the admin key).
  expect([dev.adminKey, dev.accountKey]).toEqual(keysBefore);
  expect(await view()).toEqual(before);
}, 120_000);

test("when oms dev is killed and Kafka and Postgres are gone too, its node processes still exit", async () => {
  const pids = nodePids();
  expect(pids.every(alive)).toBe(true);
  await killDev(dev);
  kafka.stop();
  await postgres.stop();
  // A node's clean stop cannot reach its storage now; it must give up and exit, not hang.
  for (let waited = 0; waited < 30_000 && pids.some(alive); waited += 200) await Bun.sleep(200);
  expect(pids.filter(alive)).toEqual([]);
  // Nothing left for afterAll to stop.
  kafka = startKafkaMock({ brokers: 1 });
  postgres = await startPostgres();
  dev = await startDev(mkdtempSync(join(tmpdir(), "oms-dev-prod-after-")), await freePort());
}, 60_000);
