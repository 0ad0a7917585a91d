// `bun bench/baseline-server.ts --port N --database URL`: the design oms replaces, behind the
// same kind of front: a Connect server (src/rpc/serve.ts, as oms's balancer serves) whose
// OrderService.SubmitOrder does one Postgres transaction per order with fsync on (BEGIN;
// SELECT … FOR UPDATE; check buying power; INSERT the order; UPDATE reserved; COMMIT), and
// whose AccountService.CreateAccount and Deposit make the accounts the load generator funds.
// The baseline level drives it with the same load generator and lean client as the e2e level
// drives oms, so the two compare like with like. The schema is the level's (baseline.bench.ts);
// this process only serves. It serves until SIGTERM.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { CASH_DECIMALS, formatCash, parseDecimal } from "../src/core/money.ts";
import { AccountService, CreateAccountResponseSchema, DepositResponseSchema } from "../src/gen/oms/v1/account_service_pb.ts";
import { OrderService, SubmitOrderResponseSchema, type SubmitOrderRequest, type SubmitOrderResponse } from "../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side } from "../src/gen/oms/v1/trading_pb.ts";
import { serveBenchServer } from "./lib/bench-server.ts";

/** Connections in the pool: orders wait for one past this; Postgres allows 100 by default. */
const POOL_CONNECTIONS_MAX = 32;
/** Whole shares, as oms takes them. */
const QTY_DECIMALS = 0;

const { values } = parseArgs({ args: process.argv.slice(2), options: { port: { type: "string" }, database: { type: "string" } } });
const port = Number(values.port);
if (!Number.isSafeInteger(port) || port <= 0 || values.database === undefined) throw new Error("baseline-server: --port N and --database URL are required");

const sql = postgres(values.database, {
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
  connection: { application_name: "oms-bench-baseline", statement_timeout: 10_000, lock_timeout: 5_000, TimeZone: "UTC" },
});

interface AccountRow {
  cash: string;
  reserved: string;
}

/** A decimal field of a request as an exact bigint, or INVALID_ARGUMENT naming the field. */
function decimalField(name: string, text: string, scaleDecimals: number, maxDecimals = scaleDecimals): bigint {
  const parsed = parseDecimal(text, scaleDecimals, maxDecimals);
  if (!parsed.ok) throw new ConnectError(`${name} ${parsed.problem}`, Code.InvalidArgument);
  return parsed.value;
}

/** What an RDBMS-per-order OMS does for each order: five round trips and a WAL flush at COMMIT. */
async function submitOrder(request: SubmitOrderRequest): Promise<SubmitOrderResponse> {
  if (request.side !== Side.BUY || request.type !== OrderType.LIMIT) throw new ConnectError("the baseline takes limit buys only", Code.Unimplemented);
  const qty = decimalField("qty", request.qty, QTY_DECIMALS);
  const limitPrice = decimalField("limit_price", request.limitPrice, CASH_DECIMALS);
  const cost = qty * limitPrice;
  const orderId = randomUUID();
  const clientOrderId = request.clientOrderId === "" ? orderId : request.clientOrderId;
  await sql.begin("isolation level read committed read write", async (tx) => {
    const [account] = await tx<AccountRow[]>`
      select cash, reserved from accounts where account_id = ${request.accountId} for update`;
    if (account === undefined) throw new ConnectError(`account_id: no account ${request.accountId}`, Code.NotFound);
    const available = decimalField("cash", account.cash, CASH_DECIMALS) - decimalField("reserved", account.reserved, CASH_DECIMALS);
    if (available < cost) throw new ConnectError(`insufficient buying power: ${formatCash(cost)} needed, ${formatCash(available)} available`, Code.FailedPrecondition);
    await tx`
      insert into orders (order_id, account_id, client_order_id, symbol, side, type, qty, limit_price, status)
      values (${orderId}, ${request.accountId}, ${clientOrderId}, ${request.symbol}, 'buy', 'limit',
              ${qty.toString()}, ${formatCash(limitPrice)}::numeric, 'accepted')`;
    await tx`update accounts set reserved = reserved + ${formatCash(cost)}::numeric where account_id = ${request.accountId}`;
  });
  const now = timestampFromMs(Date.now());
  return create(SubmitOrderResponseSchema, {
    order: {
      id: orderId,
      clientOrderId,
      accountId: request.accountId,
      symbol: request.symbol,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      qty: request.qty,
      limitPrice: request.limitPrice,
      status: OrderStatus.NEW,
      filledQty: "0",
      createdAt: now,
      updatedAt: now,
    },
  });
}

await serveBenchServer(
  port,
  (router: ConnectRouter) => {
    router.service(OrderService, { submitOrder });
    router.service(AccountService, {
      async createAccount(request) {
        await sql`insert into accounts (account_id, cash, reserved) values (${request.accountId}, 0, 0)`;
        // Never an empty message: connect-es writes one as an empty DATA frame, which an HTTP/2
        // client counts towards its invalid-frames flood bound and then drops the session.
        return create(CreateAccountResponseSchema, { account: { id: request.accountId } });
      },
      async deposit(request) {
        // Dollars with at most two decimals, as oms takes a deposit.
        const amount = decimalField("amount", request.amount, CASH_DECIMALS, 2);
        const updated = await sql`update accounts set cash = cash + ${formatCash(amount)}::numeric where account_id = ${request.accountId}`;
        if (updated.count !== 1) throw new ConnectError(`account_id: no account ${request.accountId}`, Code.NotFound);
        return create(DepositResponseSchema, { account: { id: request.accountId } });
      },
    });
  },
  () => sql.end({ timeout: 2 }),
);
