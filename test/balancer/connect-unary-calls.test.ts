// The public unary methods on the wire, against a balancer and a node: Connect (the balancer's
// own path) in binary and JSON, POST and GET, gzip either way, over HTTP/1.1 and HTTP/2, with
// the status, content type and body each answer must have; every refusal of the protocol names
// the header or parameter; gRPC and gRPC-web calls of the same methods are connect-es's, with
// the same answers; unknown enum values are refused on every path.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { gunzipSync, gzipSync } from "node:zlib";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AccountService, GetAccountRequestSchema, GetAccountResponseSchema } from "../../src/gen/oms/v1/account_service_pb.ts";
import { GetOrderRequestSchema, ListOrdersRequestSchema, OrderService, OrderStatusFilter, SubmitOrderRequestSchema, SubmitOrderResponseSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { startInProcessCluster, type InProcessCluster } from "../support/in-process-cluster.ts";
import { keyHeaders, keyInterceptor } from "../support/api-keys.ts";

let cluster: InProcessCluster;
let baseUrl = "";
const ACCOUNT = "unary-1";
/** Every call here presents this admin key (the key rules themselves: test/auth/balancer-auth.test.ts). */
let adminKey = "";

beforeAll(async () => {
  cluster = await startInProcessCluster("connect-unary");
  baseUrl = cluster.baseUrl;
  adminKey = cluster.adminKey;
  await post("/oms.v1.AccountService/CreateAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT }));
  await post("/oms.v1.AccountService/Deposit", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, amount: "125.5" }));
}, 30_000);

afterAll(async () => {
  await cluster.stop();
});

const JSON_TYPE = "application/json";
const PROTO_TYPE = "application/proto";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** HTTP/1.1, by fetch (which does not decompress unless asked: the body is what was sent). */
async function post(path: string, contentType: string, body: string | Uint8Array, headers: Record<string, string> = {}, method = "POST"): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { "content-type": contentType, ...keyHeaders(adminKey), ...headers }, ...(method === "GET" ? {} : { body }), decompress: false });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: new Uint8Array(await response.arrayBuffer()) };
}

/** HTTP/2 with prior knowledge, as buf curl and gRPC-era clients call. */
function post2(path: string, contentType: string | undefined, body: string | Uint8Array, headers: Record<string, string> = {}, method = "POST"): Promise<Answer> {
  const session = http2.connect(baseUrl);
  return new Promise<Answer>((resolve, reject) => {
    const stream = session.request({ ":method": method, ":path": path, ...(contentType === undefined ? {} : { "content-type": contentType }), ...keyHeaders(adminKey), ...headers });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    stream.on("response", (received) => (head = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: Object.fromEntries(Object.entries(head).map(([k, v]) => [k, String(v)])), body: new Uint8Array(Buffer.concat(chunks)) }));
    stream.on("error", reject);
    stream.end(method === "GET" ? undefined : body);
  }).finally(() => session.close());
}

const text = (answer: Answer) => new TextDecoder().decode(answer.body);
const json = (answer: Answer) => JSON.parse(text(answer)) as Record<string, unknown>;
const getAccountBinary = (accountId: string) => toBinary(GetAccountRequestSchema, create(GetAccountRequestSchema, { accountId }));

for (const [version, send] of [["HTTP/1.1", post], ["HTTP/2", post2]] as const) {
  test(`${version}: GetAccount in JSON and in binary; a binary answer is the node's encoding of the account`, async () => {
    const asJson = await send("/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, someFutureField: 1 }));
    expect([asJson.status, asJson.headers["content-type"]]).toEqual([200, "application/json"]);
    expect(json(asJson)).toEqual({ account: expect.objectContaining({ id: ACCOUNT, cash: "125.5" }) });
    const asBinary = await send("/oms.v1.AccountService/GetAccount", PROTO_TYPE, getAccountBinary(ACCOUNT));
    expect([asBinary.status, asBinary.headers["content-type"]]).toEqual([200, "application/proto"]);
    expect(fromBinary(GetAccountResponseSchema, asBinary.body).account?.cash).toBe("125.5");
  });

  const refusals: [string, string, string, string | Uint8Array, number, string, string][] = [
    ["unknown account", "/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: "nobody" }), 404, "not_found", "account"],
    ["bad account id", "/oms.v1.AccountService/GetAccount", PROTO_TYPE, getAccountBinary("no spaces allowed"), 400, "invalid_argument", "account_id:"],
    ["bad qty", "/oms.v1.OrderService/SubmitOrder", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_MARKET", timeInForce: "TIME_IN_FORCE_DAY", qty: "-5" }), 400, "invalid_argument", "qty:"],
    ["no buying power", "/oms.v1.OrderService/SubmitOrder", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_DAY", qty: "100", limitPrice: "100" }), 400, "failed_precondition", ""],
    ["JSON that does not parse", "/oms.v1.AccountService/GetAccount", JSON_TYPE, "{not json", 400, "invalid_argument", "cannot decode message oms.v1.GetAccountRequest from JSON"],
    ["an unknown enum name", "/oms.v1.OrderService/ListOrders", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, status: "BOGUS" }), 400, "invalid_argument", 'status: unknown value "BOGUS" of oms.v1.OrderStatusFilter'],
    ["an unknown enum number in JSON", "/oms.v1.OrderService/SubmitOrder", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, symbol: "AAPL", side: 7, type: "ORDER_TYPE_MARKET", qty: "1" }), 400, "invalid_argument", "side: unknown value 7 of oms.v1.Side"],
    ["an unknown enum number in binary", "/oms.v1.OrderService/ListOrders", PROTO_TYPE, toBinary(ListOrdersRequestSchema, create(ListOrdersRequestSchema, { accountId: ACCOUNT, status: 99 as OrderStatusFilter })), 400, "invalid_argument", "status"],
    ["a content type that is not Connect unary", "/oms.v1.AccountService/GetAccount", "text/plain", "{}", 415, "invalid_argument", "content-type:"],
    ["a Connect streaming content type on a unary method", "/oms.v1.AccountService/GetAccount", "application/connect+proto", "", 415, "invalid_argument", "content-type:"],
    ["an unknown method", "/oms.v1.AccountService/NoSuchMethod", JSON_TYPE, "{}", 404, "unimplemented", "/oms.v1.AccountService/NoSuchMethod"],
    ["a streaming method called as unary", "/oms.v1.OrderService/StreamTradeUpdates", JSON_TYPE, "{}", 415, "invalid_argument", "content-type:"],
  ];
  for (const [what, path, contentType, body, status, code, start] of refusals) {
    test(`${version}: ${what} is ${status} ${code} with a Connect error body`, async () => {
      const answer = await send(path, contentType, body);
      expect([answer.status, answer.headers["content-type"], json(answer)["code"]]).toEqual([status, "application/json", code]);
      expect(String(json(answer)["message"])).toContain(start);
    });
  }

  const headerRefusals: [string, Record<string, string>, number, string, string][] = [
    ["protocol version 2", { "connect-protocol-version": "2" }, 400, "invalid_argument", 'connect-protocol-version: must be "1", got "2"'],
    ["a timeout that is not a number", { "connect-timeout-ms": "soon" }, 400, "invalid_argument", "connect-timeout-ms: protocol error: invalid connect timeout value: soon"],
    ["a timeout over the longest deadline", { "connect-timeout-ms": "60001" }, 400, "invalid_argument", "connect-timeout-ms: timeout 60001ms must be <= 60000"],
    ["a timeout of eleven digits", { "connect-timeout-ms": "99999999999" }, 400, "invalid_argument", "connect-timeout-ms: protocol error: invalid connect timeout value: 99999999999"],
    ["a timeout already past", { "connect-timeout-ms": "0" }, 504, "deadline_exceeded", "the operation timed out"],
    ["an unknown compression", { "content-encoding": "br" }, 501, "unimplemented", 'content-encoding: unknown compression "br"; supported encodings are gzip, identity'],
  ];
  for (const [what, headers, status, code, message] of headerRefusals) {
    test(`${version}: ${what} is ${status} ${code}, naming the header`, async () => {
      const answer = await send("/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT }), headers);
      expect([answer.status, json(answer)]).toEqual([status, { code, message }]);
    });
  }

  test(`${version}: a timeout within range and protocol version 1 are taken`, async () => {
    const answer = await send("/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT }), { "connect-timeout-ms": "5000", "connect-protocol-version": "1" });
    expect(answer.status).toBe(200);
  });

  test(`${version}: a gzipped request is read, and an answer of 1 KiB or more is gzipped for a client that accepts it`, async () => {
    for (let i = 0; i < 8; i++) {
      await send("/oms.v1.OrderService/SubmitOrder", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT, clientOrderId: `${version}-gz-${i}`, symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", qty: "1", limitPrice: "1" }));
    }
    const request = gzipSync(JSON.stringify({ accountId: ACCOUNT, status: "ORDER_STATUS_FILTER_ALL" }));
    const answer = await send("/oms.v1.OrderService/ListOrders", JSON_TYPE, request, { "content-encoding": "gzip", "accept-encoding": "gzip" });
    expect([answer.status, answer.headers["content-encoding"]]).toEqual([200, "gzip"]);
    const orders = (JSON.parse(gunzipSync(answer.body).toString("utf8")) as { orders: unknown[] }).orders;
    expect(orders.length).toBeGreaterThanOrEqual(8);
    const small = await send("/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT }), { "accept-encoding": "gzip" });
    expect([small.status, small.headers["content-encoding"]]).toEqual([200, undefined]);
  });

  test(`${version}: GET for a read-only method, in JSON and base64 binary; 405 with Allow for a method with side effects`, async () => {
    const message = encodeURIComponent(JSON.stringify({ accountId: ACCOUNT }));
    const asJson = await send(`/oms.v1.AccountService/GetAccount?connect=v1&encoding=json&message=${message}`, undefined as unknown as string, "", {}, "GET");
    expect([asJson.status, json(asJson)["account"]]).toEqual([200, expect.objectContaining({ id: ACCOUNT })]);
    const base64 = Buffer.from(getAccountBinary(ACCOUNT)).toString("base64url");
    const asBinary = await send(`/oms.v1.AccountService/GetAccount?encoding=proto&base64=1&message=${base64}`, undefined as unknown as string, "", {}, "GET");
    expect(fromBinary(GetAccountResponseSchema, asBinary.body).account?.id).toBe(ACCOUNT);
    const badEncoding = await send(`/oms.v1.AccountService/GetAccount?encoding=xml&message=x`, undefined as unknown as string, "", {}, "GET");
    expect([badEncoding.status, json(badEncoding)["code"]]).toEqual([415, "invalid_argument"]);
    const sideEffects = await send(`/oms.v1.OrderService/SubmitOrder?encoding=json&message=${message}`, undefined as unknown as string, "", {}, "GET");
    expect([sideEffects.status, sideEffects.headers["allow"], json(sideEffects)["code"]]).toEqual([405, "POST", "unimplemented"]);
    const put = await send("/oms.v1.AccountService/GetAccount", JSON_TYPE, "{}", {}, "PUT");
    expect([put.status, put.headers["allow"], json(put)["code"]]).toEqual([405, "GET, POST", "unimplemented"]);
  });
}

test("connect-es's Connect GET client reads a read-only method", async () => {
  const accounts = createClient(AccountService, createClientTransport(baseUrl, "connect", { httpVersion: "1.1", apiKey: adminKey }));
  // connect-es sends GET for NO_SIDE_EFFECTS methods when asked to.
  const { createConnectTransport } = await import("@connectrpc/connect-node");
  const viaGet = createClient(AccountService, createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true, interceptors: [keyInterceptor(adminKey)] }));
  expect((await viaGet.getAccount({ accountId: ACCOUNT })).account?.id).toBe(ACCOUNT);
  expect((await accounts.getAccount({ accountId: ACCOUNT })).account?.id).toBe(ACCOUNT);
});

test("a client that resets its HTTP/2 stream before the answer leaves the balancer serving", async () => {
  const session = http2.connect(baseUrl);
  const stream = session.request({ ":method": "POST", ":path": "/oms.v1.AccountService/GetAccount", "content-type": JSON_TYPE, ...keyHeaders(adminKey) });
  stream.on("error", () => undefined);
  stream.write(JSON.stringify({ accountId: ACCOUNT }));
  stream.close(http2.constants.NGHTTP2_CANCEL);
  session.close();
  expect((await post2("/oms.v1.AccountService/GetAccount", JSON_TYPE, JSON.stringify({ accountId: ACCOUNT }))).status).toBe(200);
});

test("a submitted order comes back in binary as the node encoded it, and GetOrder finds it", async () => {
  const submit = toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, { accountId: ACCOUNT, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, qty: "1", limitPrice: "1" }));
  const submitted = await post2("/oms.v1.OrderService/SubmitOrder", PROTO_TYPE, submit);
  expect([submitted.status, submitted.headers["content-type"]]).toEqual([200, "application/proto"]);
  const order = fromBinary(SubmitOrderResponseSchema, submitted.body).order;
  expect([order?.accountId, order?.qty, order?.status]).toEqual([ACCOUNT, "1", OrderStatus.NEW]);
  const get = toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { accountId: ACCOUNT, key: { case: "orderId", value: order?.id ?? "" } }));
  const found = await post("/oms.v1.OrderService/GetOrder", PROTO_TYPE, get);
  expect(fromBinary(SubmitOrderResponseSchema, found.body).order).toEqual(order);
});

test("gRPC and gRPC-web calls go to connect-es and answer alike; an unknown enum number is refused there too", async () => {
  const answered = cluster.balancer.connectUnaryAnswered();
  for (const [protocol, httpVersion] of [["grpc", "2"], ["grpc-web", "1.1"], ["grpc-web", "2"]] as const) {
    const transport = createClientTransport(baseUrl, protocol, { httpVersion, apiKey: adminKey });
    const accounts = createClient(AccountService, transport);
    expect((await accounts.getAccount({ accountId: ACCOUNT })).account?.cash).toBe("125.5");
    const missing = await accounts.getAccount({ accountId: "nobody" }).catch((error: unknown) => ConnectError.from(error));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
    const orders = createClient(OrderService, transport);
    const bogus = await orders.listOrders({ accountId: ACCOUNT, status: 99 as OrderStatusFilter }).catch((error: unknown) => ConnectError.from(error));
    expect([(bogus as ConnectError).code, (bogus as ConnectError).rawMessage]).toEqual([Code.InvalidArgument, expect.stringContaining("status")]);
  }
  expect(cluster.balancer.connectUnaryAnswered()).toBe(answered);
});

/** A raw gRPC call over HTTP/2: the status fields of its trailers (or trailers-only headers). */
function grpcCall(path: string, message: Uint8Array, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const session = http2.connect(baseUrl);
  return new Promise<Record<string, string>>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...keyHeaders(adminKey), ...headers });
    const fields: Record<string, string> = {};
    const keep = (received: http2.IncomingHttpHeaders) => {
      for (const name of ["grpc-status", "grpc-message"]) if (received[name] !== undefined) fields[name] = String(received[name]);
    };
    stream.on("response", keep);
    stream.on("trailers", keep);
    stream.on("error", reject);
    stream.resume();
    stream.on("close", () => resolve(fields));
    const envelope = Buffer.alloc(5 + message.length);
    envelope.writeUInt32BE(message.length, 1);
    envelope.set(message, 5);
    stream.end(envelope);
  }).finally(() => session.close());
}

test("grpc-message is percent-encoded only where the gRPC spec says: spaces and punctuation stay, '%' and non-ASCII are encoded", async () => {
  const order = create(SubmitOrderRequestSchema, { accountId: ACCOUNT, symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "1 00% é" });
  const fields = await grpcCall("/oms.v1.OrderService/SubmitOrder", toBinary(SubmitOrderRequestSchema, order));
  expect(fields["grpc-status"]).toBe(String(Code.InvalidArgument));
  expect(fields["grpc-message"]).toBe('qty: must be a whole number of shares like "10", got "1 00%25 %C3%A9"');
});

test("an unknown method and a deadline out of range are refused in gRPC's shape, with no timer overflow", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on("warning", onWarning);
  try {
    expect(await grpcCall("/oms.v1.AccountService/NoSuchMethod", new Uint8Array(0))).toEqual({ "grpc-status": String(Code.Unimplemented), "grpc-message": "/oms.v1.AccountService/NoSuchMethod: no such method on this server" });
    const overflow = await grpcCall("/oms.v1.AccountService/GetAccount", getAccountBinary(ACCOUNT), { "grpc-timeout": "99999999H" });
    expect(overflow).toEqual({ "grpc-status": String(Code.InvalidArgument), "grpc-message": "timeout 359999996400000ms must be <= 60000" });
    await Bun.sleep(10);
  } finally {
    process.off("warning", onWarning);
  }
  expect(warnings).toEqual([]);
});
