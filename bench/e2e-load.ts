// The e2e benchmark's load generator, a process of its own so that its CPU is counted apart
// from the balancer's and the node's: a Connect client of the public API (connect-es, as any
// TypeScript client) driving SubmitOrder, or SubmitOrders streams, open-loop at the rates its
// parent asks for.
//
//   bun bench/e2e-load.ts --url http://127.0.0.1:PORT --accounts N --http 1.1|2
//                         [--client lean|connect-es] [--format binary|json] [--api-key ID:SECRET]
//
// SubmitOrder and SubmitOrders go through lean Connect clients by default
// (bench/lean-connect-client.ts, bench/lean-stream-submit-client.ts: the same protocol on the
// wire, a fraction of the client CPU); `--client connect-es` selects connect-es's for both
// (createConnectTransport of @connectrpc/connect-node, as users call it; `--format json` with
// `--http 1.1` is the independent client of the e2e level); setup calls use connect-es. The
// same generator drives every server a level compares (oms, a server that answers at once, the
// Postgres baseline), so their figures differ only by the server.
//
// It reads one JSON request per line on stdin and answers each with one JSON line on stdout:
//   {"op":"fund"}                                            → {"op":"fund","ms":…}
//   {"op":"run","ratePerSec":…,"warmupMs":…,"durationMs":…,"inFlightMax":…[,"streams":N][,"deadlineMs":D]}
//                                                            → {"op":"run","result":OpenLoopResult,"firstError":…}
//   {"op":"audit"}                                           → {"op":"audit","deadlineExceeded":…,"deadlineExceededButPlaced":…,"orders":…}
// With "streams", the run sends its orders on N SubmitOrders streams opened for the run (an
// account's orders always on the same one), each timed from its intended start to its answer.
// With "deadlineMs" (unary, lean client), each call carries that deadline and an order id of its
// own, and those answered deadline_exceeded are remembered: "audit" then lists every account's
// orders and counts how many of them were placed all the same (there must be none: a deadline
// that passed before its command was decided means nothing was done).
// It exits when stdin closes, so it never outlives the benchmark that started it.
import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as http from "node:http";
import { parseArgs } from "node:util";
import { AccountService } from "../src/gen/oms/v1/account_service_pb.ts";
import { OrderService, OrderStatusFilter, SubmitOrderRequestSchema, type SubmitOrderRequest } from "../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../src/rpc/transport.ts";
import { LeanSubmitClient } from "./lean-connect-client.ts";
import { LeanStreamSubmitClient } from "./lean-stream-submit-client.ts";
import { StreamSubmitClient } from "./stream-submit-client.ts";
import { connectFailureKind } from "./lib/connect-failure-kind.ts";
import { runOpenLoop } from "./lib/open-loop.ts";

/** Every account can pay for far more resting $100 orders than a run sends it. */
const DEPOSIT_DOLLARS = "10000000";
/** Setup calls in flight at once: enough to be quick, few enough not to time out. */
const FUND_CONCURRENCY = 64;
/** A deadline per call far above any latency that counts, so that queueing shows as latency. */
const CALL_TIMEOUT_MS = 10_000;
/**
 * Idle keep-alive sockets the HTTP/1.1 client holds: one per call in flight at the highest
 * rate it drives. Without keep-alive (Bun's default agent) every call opened a connection:
 * 36 ms p50 at 1,000/s against a server that answers at once, thousands of sockets in TIME_WAIT.
 */
const HTTP1_IDLE_SOCKETS_MAX = 1_024;

export interface LoadRequest {
  op: "fund" | "run" | "audit";
  ratePerSec?: number;
  warmupMs?: number;
  durationMs?: number;
  inFlightMax?: number;
  /** SubmitOrders streams to send on instead of unary SubmitOrder calls. */
  streams?: number;
  /** Each unary call's deadline, for an overload run (see the header). */
  deadlineMs?: number;
}

/** A page of ListOrders for the audit: the most the method gives. */
const AUDIT_PAGE_SIZE = 500;

interface LoadOptions {
  url: string;
  /** An admin key for the fund op (it creates and funds accounts); a server without keys ignores it. */
  apiKey: string | undefined;
  accounts: number;
  httpVersion: "1.1" | "2";
  lean: boolean;
  /** connect-es's encoding; the lean clients speak binary only. */
  binary: boolean;
}

function parseOptions(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: "string" }, "api-key": { type: "string" }, accounts: { type: "string" }, http: { type: "string" }, client: { type: "string" }, format: { type: "string" } },
  });
  const apiKey = values["api-key"];
  const client = values.client ?? "lean";
  if (client !== "lean" && client !== "connect-es") throw new Error(`e2e-load: --client must be lean or connect-es, got ${client}`);
  const format = values.format ?? "binary";
  if (format !== "binary" && format !== "json") throw new Error(`e2e-load: --format must be binary or json, got ${format}`);
  if (client === "lean" && format === "json") throw new Error("e2e-load: the lean clients speak Connect binary only; --format json needs --client connect-es");
  const accounts = Number(values.accounts);
  if (values.url === undefined || !Number.isSafeInteger(accounts) || accounts < 1) {
    throw new Error("e2e-load: --url URL and --accounts N (a positive integer) are required");
  }
  const httpVersion = values.http ?? "2";
  if (httpVersion !== "1.1" && httpVersion !== "2") throw new Error(`e2e-load: --http must be 1.1 or 2, got ${httpVersion}`);
  return { url: values.url, apiKey, accounts, httpVersion, lean: client === "lean", binary: format === "binary" };
}

function keyHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const key = options.apiKey === undefined ? {} : { apiKey: options.apiKey };
  const transport = createClientTransport(options.url, "connect", { httpVersion: options.httpVersion, timeoutMs: CALL_TIMEOUT_MS, useBinaryFormat: options.binary, ...key });
  const accountClient = createClient(AccountService, transport);
  const orderClient = createClient(OrderService, options.httpVersion === "1.1" ? http1SubmitTransport(options) : transport);
  const streamOrderClient = createClient(OrderService, createClientTransport(options.url, "connect", { httpVersion: "2", timeoutMs: CALL_TIMEOUT_MS, useBinaryFormat: options.binary, ...key }));
  const accountIds = Array.from({ length: options.accounts }, (_, i) => `e2e-${i}`);
  // One request per account, built once: the generator should spend its CPU on the calls.
  const requests: SubmitOrderRequest[] = accountIds.map((accountId) =>
    create(SubmitOrderRequestSchema, {
      accountId,
      symbol: "AAPL",
      side: Side.BUY,
      type: OrderType.LIMIT,
      timeInForce: TimeInForce.DAY,
      qty: "1",
      // Below every listed price: the order rests and never fills, one log record per order.
      limitPrice: "100",
    }),
  );
  const lean = options.lean ? new LeanSubmitClient(options.url, CALL_TIMEOUT_MS, keyHeaders(options.apiKey)) : null;
  const encoded = lean === null ? [] : requests.map((request) => lean.encode(request));
  /** Client order ids answered deadline_exceeded, for the audit. */
  const deadlineExceeded = new Set<string>();
  let deadlineRuns = 0;
  for await (const line of console) {
    if (line.trim() === "") continue;
    const request = JSON.parse(line) as LoadRequest;
    if (request.op === "fund") {
      const started = performance.now();
      await inBatches(accountIds, FUND_CONCURRENCY, async (accountId) => {
        await accountClient.createAccount({ accountId });
        await accountClient.deposit({ accountId, amount: DEPOSIT_DOLLARS });
      });
      reply({ op: "fund", ms: Math.round(performance.now() - started) });
    } else if (request.op === "audit") {
      reply({ op: "audit", ...(await audit(orderClient, accountIds, deadlineExceeded)) });
    } else {
      deadlineRuns += 1;
      const deadline = deadlineSender(request, lean, deadlineRuns, deadlineExceeded);
      let firstError: string | null = null;
      // Bidirectional streams need HTTP/2, whatever --http says for the unary calls.
      const streamCount = request.streams === undefined ? null : positive(request.streams, "streams");
      const streams = streamCount === null ? null : lean !== null ? new LeanStreamSubmitClient(options.url, streamCount, keyHeaders(options.apiKey)) : new StreamSubmitClient(streamOrderClient, streamCount);
      const result = await runOpenLoop({
        ratePerSec: positive(request.ratePerSec, "ratePerSec"),
        warmupMs: positive(request.warmupMs, "warmupMs"),
        durationMs: positive(request.durationMs, "durationMs"),
        inFlightMax: positive(request.inFlightMax, "inFlightMax"),
        // The generator shares two cores with the balancer and the node: it must not keep one busy.
        pacing: "ticker",
        // For the report of a run past saturation: timed out, refused, or no answer at all.
        failureKind: connectFailureKind,
        send: async (index) => {
          try {
            if (deadline !== null) await deadline(requests[index % requests.length] as SubmitOrderRequest, index);
            else if (streams instanceof LeanStreamSubmitClient) await streams.submit(index, encoded[index % encoded.length] as Uint8Array, index % encoded.length);
            else if (streams !== null) await streams.submit(index, requests[index % requests.length] as SubmitOrderRequest, index % requests.length);
            else if (lean !== null) await lean.submit(encoded[index % encoded.length] as Uint8Array);
            else await orderClient.submitOrder(requests[index % requests.length] as SubmitOrderRequest);
          } catch (error) {
            firstError ??= error instanceof Error ? error.message : String(error);
            throw error;
          }
        },
      });
      await streams?.close();
      reply({ op: "run", result, firstError });
    }
  }
}

/**
 * connect-es's own Connect client over HTTP/1.1 as a user sets it up: createConnectTransport of
 * @connectrpc/connect-node with a keep-alive agent, the key in the Authorization header.
 */
function http1SubmitTransport(options: LoadOptions): Transport {
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: HTTP1_IDLE_SOCKETS_MAX });
  return createConnectTransport({
    baseUrl: options.url,
    httpVersion: "1.1",
    useBinaryFormat: options.binary,
    nodeOptions: { agent },
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    interceptors: [
      (next) => (request) => {
        for (const [name, value] of Object.entries(keyHeaders(options.apiKey))) request.header.set(name, value);
        return next(request);
      },
    ],
  });
}

type DeadlineSend = (request: SubmitOrderRequest, index: number) => Promise<void>;

/** For a run with a deadline: each order its own client order id, the ones that timed out remembered. */
function deadlineSender(request: LoadRequest, lean: LeanSubmitClient | null, run: number, deadlineExceeded: Set<string>): DeadlineSend | null {
  if (request.deadlineMs === undefined) return null;
  if (lean === null || request.streams !== undefined) throw new Error("e2e-load: deadlineMs is for unary calls of the lean client");
  const deadlineMs = positive(request.deadlineMs, "deadlineMs");
  return async (order, index) => {
    const clientOrderId = `dl-${run}-${index}`;
    try {
      await lean.submit(lean.encode({ ...order, clientOrderId }), deadlineMs);
    } catch (error) {
      if (connectFailureKind(error) === "deadline_exceeded") deadlineExceeded.add(clientOrderId);
      throw error;
    }
  };
}

/** Every account's orders, all statuses: how many of those answered deadline_exceeded were placed. */
async function audit(orderClient: Client<typeof OrderService>, accountIds: readonly string[], deadlineExceeded: ReadonlySet<string>): Promise<{ orders: number; deadlineExceeded: number; deadlineExceededButPlaced: number }> {
  let orders = 0;
  let placed = 0;
  await inBatches(accountIds, FUND_CONCURRENCY, async (accountId) => {
    let pageToken = "";
    do {
      const page = await orderClient.listOrders({ accountId, status: OrderStatusFilter.ALL, pageSize: AUDIT_PAGE_SIZE, pageToken });
      orders += page.orders.length;
      for (const order of page.orders) if (deadlineExceeded.has(order.clientOrderId)) placed += 1;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  });
  return { orders, deadlineExceeded: deadlineExceeded.size, deadlineExceededButPlaced: placed };
}

function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function positive(value: number | undefined, name: string): number {
  if (value === undefined || !(value > 0)) throw new Error(`e2e-load: ${name} must be positive, got ${value}`);
  return value;
}

async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += concurrency) {
    await Promise.all(items.slice(start, start + concurrency).map(work));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
