// The SubmitOrders stream path on the wire, in gRPC and in Connect framing, with a stand-in for
// the nodes whose answers the test releases by hand and a raw HTTP/2 client that sees every
// envelope: orders reach the node as the client's bytes, answers keep each account's order,
// refusals do not end the stream, malformed frames end it only after the answers in flight,
// the in-flight bound holds reading back, and deadlines and shutdown end it at once.
import { afterEach, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeAnswer } from "../../src/balancer/node-answer.ts";
import type { SentCommand } from "../../src/balancer/node-link.ts";
import { submitOrdersStreams } from "../../src/balancer/submit-orders-stream.ts";
import { balancerMetrics } from "../../src/metrics/balancer-metrics.ts";
import { NodeCommandSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { SubmitOrdersRequestSchema, SubmitOrdersResponseSchema, type SubmitOrderRequest, type SubmitOrdersResponse } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus } from "../../src/gen/oms/v1/trading_pb.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { envelope } from "../rpc/envelope.ts";
import { keyHeaders, memoryGate } from "../support/api-keys.ts";

/** Every stream here presents this admin key; auth's own rules are in submit-orders-stream.auth.test.ts. */
const keys = await memoryGate();

const PATH = "/oms.v1.OrderService/SubmitOrders";
/** Small, so that the bound is reached with a few orders in one HTTP/2 window. */
const IN_FLIGHT_MAX = 8;

interface Held {
  accountId: string;
  order: SubmitOrderRequest;
  command: SentCommand;
}

const servers: RpcServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** A balancer with only the SubmitOrders stream path, whose "nodes" hold each order until the test answers it. */
async function leanServer(options: { down?: string } = {}) {
  const held: Held[] = [];
  const fastPath = submitOrdersStreams((accountId, command) => {
    if (accountId === options.down) {
      command.reject(new ConnectError(`node node-c (shards 2) is down`, Code.Unavailable));
      return;
    }
    const decoded = fromBinary(NodeCommandSchema, command.command);
    if (decoded.command.case !== "submitOrder") throw new Error(`not a submitOrder: ${decoded.command.case}`);
    held.push({ accountId, order: decoded.command.value, command });
  }, keys.gate, IN_FLIGHT_MAX);
  const server = await serveRpc({ host: "127.0.0.1", port: 0, routes: () => undefined, http2StreamPath: fastPath });
  servers.push(server);
  return { held, fastPath, server, url: `http://127.0.0.1:${server.port}` };
}

function accept(held: Held, extra: { clientOrderId?: string } = {}): void {
  const order = { id: `id-${held.order.clientOrderId}`, accountId: held.accountId, clientOrderId: held.order.clientOrderId, status: OrderStatus.NEW, ...extra };
  held.command.resolve(new NodeAnswer(toBinary(NodeResultSchema, create(NodeResultSchema, { result: { case: "submitOrder", value: { order } } }))));
}

function refuse(held: Held, code: Code, message: string): void {
  held.command.resolve(new NodeAnswer(toBinary(NodeResultSchema, create(NodeResultSchema, { result: { case: "error", value: { code, message } } }))));
}

type Request = MessageInitShape<typeof SubmitOrdersRequestSchema>;
const order = (accountId: string, clientOrderId: string) => ({ accountId, clientOrderId, symbol: "AAPL", qty: "1", limitPrice: "1.00" });

function envelopes(...requests: Request[]): Buffer {
  return Buffer.concat(requests.map((request) => envelope(toBinary(SubmitOrdersRequestSchema, create(SubmitOrdersRequestSchema, request)))));
}

/** Event-loop turns, not time: enough for every answer in flight to be written and read. */
async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await turns(1);
}

type Protocol = "grpc" | "connect";
const CONTENT_TYPES: Record<Protocol, string> = { grpc: "application/grpc", connect: "application/connect+proto" };

/** A client's side of one stream, raw: every envelope it gets, and how the stream ended. */
class RawCall {
  readonly answers: SubmitOrdersResponse[] = [];
  headers: http2.IncomingHttpHeaders = {};
  end: { code: string; message: string } | null = null;
  readonly done: Promise<void>;
  compressedEnvelopes = 0;
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private pending = Buffer.alloc(0);

  constructor(url: string, private readonly protocol: Protocol, headers: Record<string, string> = {}) {
    this.session = http2.connect(url);
    this.stream = this.session.request({ ":method": "POST", ":path": PATH, "content-type": CONTENT_TYPES[protocol], ...keyHeaders(keys.admin), ...headers });
    this.stream.on("response", (received) => (this.headers = received));
    this.stream.on("trailers", (trailers) => {
      const status = Number(trailers["grpc-status"]);
      this.end = { code: status === 0 ? "ok" : Code[status] ?? String(status), message: decodeURIComponent(String(trailers["grpc-message"] ?? "")) };
    });
    this.stream.on("data", (chunk: Buffer) => this.read(chunk));
    this.done = new Promise((resolve) => this.stream.on("close", () => resolve()));
  }

  /** Stops taking the answers off the stream, so that HTTP/2 flow control holds the server back. */
  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    this.stream.resume();
  }

  write(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  /** Ends the client's side, optionally with these last bytes. */
  finish(bytes?: Uint8Array): void {
    this.stream.end(bytes);
  }

  close(): void {
    this.session.destroy();
  }

  private read(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5 && this.pending.length >= 5 + this.pending.readUInt32BE(1)) {
      const flags = this.pending[0] as number;
      let message: Uint8Array = this.pending.subarray(5, 5 + this.pending.readUInt32BE(1));
      this.pending = this.pending.subarray(5 + message.length);
      if ((flags & 1) !== 0) {
        this.compressedEnvelopes += 1;
        message = gunzipSync(message);
      }
      if (this.protocol === "connect" && (flags & 2) !== 0) {
        const json = JSON.parse(Buffer.from(message).toString("utf8")) as { error?: { code: string; message?: string } };
        this.end = json.error === undefined ? { code: "ok", message: "" } : { code: json.error.code, message: json.error.message ?? "" };
      } else {
        this.answers.push(fromBinary(SubmitOrdersResponseSchema, message));
      }
    }
  }
}

/** The Connect code name as a gRPC trailer's number reads (Code[3] is "InvalidArgument"). */
function endCode(call: RawCall): string | undefined {
  const code = call.end?.code;
  return code === undefined || code === "ok" || code.includes("_") ? code : code.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function refusalOf(answer: SubmitOrdersResponse | undefined): { code: string; message: string } | undefined {
  return answer?.result.case === "refusal" ? { code: answer.result.value.code, message: answer.result.value.message } : undefined;
}

for (const protocol of ["grpc", "connect"] as const) {
  describe(`the SubmitOrders stream path in ${protocol} framing`, () => {
    test("orders reach the node as the client's bytes; an account's answers keep its order though the node answers in reverse; the stream ends ok after the client's end", async () => {
      const { held, fastPath, url } = await leanServer();
      const call = new RawCall(url, protocol);
      const sent: Request[] = [
        { tag: 1n, order: order("alice", "a1") },
        { tag: 2n, order: order("bob", "b1") },
        { tag: 3n, order: order("alice", "a2") },
        { tag: 4n, order: order("alice", "a3") },
      ];
      call.finish(envelopes(...sent));
      await until(() => held.length === 4);
      expect(fastPath.streams).toBe(1);
      for (const [i, h] of held.entries()) {
        const expected = toBinary(NodeCommandSchema, create(NodeCommandSchema, { command: { case: "submitOrder", value: sent[i]!.order! } }));
        expect(h.command.command).toEqual(expected);
        // A stream without a deadline: each order waits as long as the balancer's call timeout.
        expect(h.command.timeoutMs).toBeNull();
      }
      for (const i of [3, 1, 2, 0]) {
        accept(held[i]!);
        await turns();
      }
      await call.done;
      call.close();
      expect(call.headers["content-type"]).toBe(protocol === "grpc" ? "application/grpc+proto" : "application/connect+proto");
      expect(call.answers.map((a) => a.tag)).toEqual([2n, 1n, 3n, 4n]);
      expect(call.answers.map((a) => (a.result.case === "order" ? a.result.value.id : a.result.case))).toEqual(["id-b1", "id-a1", "id-a2", "id-a3"]);
      expect(call.end).toEqual({ code: "ok", message: "" });
    });

    test("invalid orders in the middle are refused with the unary call's code name and message, and the stream goes on", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol);
      call.finish(
        envelopes(
          { tag: 1n, order: order("alice", "a1") },
          { tag: 2n },
          { tag: 3n, order: order("", "no-account") },
          { tag: 4n, order: { ...order("alice", "a2"), qty: "abc" } },
          { tag: 5n, order: order("alice", "a3") },
        ),
      );
      // The missing order and the missing account are the balancer's to refuse; the rest reach the node.
      await until(() => held.length === 3);
      accept(held[0]!);
      refuse(held[1]!, Code.InvalidArgument, 'qty: must be a whole number of shares like "10", got "abc"');
      accept(held[2]!);
      await call.done;
      call.close();
      const byTag = new Map(call.answers.map((a) => [a.tag, a]));
      expect(call.answers.length).toBe(5);
      expect(refusalOf(byTag.get(2n))).toEqual({ code: "invalid_argument", message: "order: is required" });
      expect(refusalOf(byTag.get(3n))).toEqual({ code: "invalid_argument", message: "account_id: is required" });
      expect(refusalOf(byTag.get(4n))).toEqual({ code: "invalid_argument", message: 'qty: must be a whole number of shares like "10", got "abc"' });
      expect([byTag.get(1n)?.result.case, byTag.get(5n)?.result.case]).toEqual(["order", "order"]);
      expect(call.answers.filter((a) => [1n, 4n, 5n].includes(a.tag)).map((a) => a.tag)).toEqual([1n, 4n, 5n]);
      expect(call.end?.code).toBe("ok");
    });

    test("orders for a node that is down are refused unavailable while the other accounts' orders go on", async () => {
      const { held, url } = await leanServer({ down: "gone" });
      const call = new RawCall(url, protocol);
      call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }, { tag: 2n, order: order("gone", "g1") }, { tag: 3n, order: order("alice", "a2") }));
      await until(() => held.length === 2);
      for (const h of held) accept(h);
      await call.done;
      call.close();
      expect(call.answers.map((a) => [a.tag, a.result.case])).toEqual([[2n, "refusal"], [1n, "order"], [3n, "order"]]);
      expect(refusalOf(call.answers[0])).toEqual({ code: "unavailable", message: "node node-c (shards 2) is down" });
      expect(call.end?.code).toBe("ok");
    });

    test("bytes that are not a SubmitOrdersRequest end the stream invalid_argument, after the orders in flight are answered; nothing after them is read", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol);
      const garbage = envelope(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]));
      call.write(Buffer.concat([envelopes({ tag: 1n, order: order("alice", "a1") }, { tag: 2n, order: order("bob", "b1") }), garbage, envelopes({ tag: 3n, order: order("carol", "c1") })]));
      await until(() => held.length === 2);
      await turns();
      expect([held.length, call.end, call.answers.length]).toEqual([2, null, 0]);
      accept(held[1]!);
      accept(held[0]!);
      await until(() => call.end !== null);
      call.close();
      expect(call.answers.map((a) => a.tag)).toEqual([2n, 1n]);
      expect(held.length).toBe(2);
      expect([endCode(call), call.end?.message]).toEqual(["invalid_argument", "cannot decode message oms.v1.SubmitOrdersRequest: parse binary: premature EOF"]);
    });

    const malformed: [string, Buffer, string, string][] = [
      ["an envelope cut short by the end of the request", envelope(Uint8Array.from([0x08, 0x01])).subarray(0, 6), "invalid_argument", "protocol error: incomplete envelope"],
      ["a compressed envelope on a call without an encoding", envelope(Uint8Array.from([0x08, 0x01]), 1), "invalid_argument", "received compressed envelope, but do not know how to decompress"],
      ["an envelope larger than a message may be", Buffer.from([0, 0x7f, 0, 0, 0, 0x08]), "resource_exhausted", "message size 2130706432 is larger than configured readMaxBytes 4194304"],
    ];
    for (const [what, bytes, code, message] of malformed) {
      test(`${what} ends the stream ${code} with connect-es's message`, async () => {
        const { held, url } = await leanServer();
        const call = new RawCall(url, protocol);
        call.finish(Buffer.concat([envelopes({ tag: 1n, order: order("alice", "a1") }), bytes]));
        await until(() => held.length === 1);
        accept(held[0]!);
        await until(() => call.end !== null);
        call.close();
        expect(call.answers.map((a) => a.tag)).toEqual([1n]);
        expect([endCode(call), call.end?.message]).toEqual([code, message]);
      });
    }

    test("with the bound's worth of orders in flight the stream is not read further until an answer is written", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol);
      const count = 5 * IN_FLIGHT_MAX;
      call.finish(envelopes(...Array.from({ length: count }, (_, i) => ({ tag: BigInt(i + 1), order: order(`acct-${i % 3}`, `o${i}`) }))));
      await until(() => held.length === IN_FLIGHT_MAX);
      await turns();
      expect(held.length).toBe(IN_FLIGHT_MAX);
      accept(held[0]!);
      await until(() => call.answers.length === 1);
      await turns();
      // One answer written, one more order read.
      expect(held.length).toBe(IN_FLIGHT_MAX + 1);
      for (let answered = 1; answered < count; answered++) {
        await until(() => held.length > answered);
        accept(held[answered]!);
      }
      await call.done;
      call.close();
      expect(call.answers.length).toBe(count);
      expect(new Set(call.answers.map((a) => a.tag)).size).toBe(count);
      expect(call.end?.code).toBe("ok");
    });

    test("a client that does not read its answers is not read either (its answers back up, then its orders wait on the bound), and all is answered once it reads", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol);
      call.pauseReading();
      const count = 2000;
      call.finish(envelopes(...Array.from({ length: count }, (_, i) => ({ tag: BigInt(i + 1), order: order(`acct-${i % 5}`, `o${i}`) }))));
      // Each answer ~1 KiB: the whole lot is far more than any window and buffer on the way.
      let answered = 0;
      for (let idle = 0; idle < 50; idle++) {
        while (answered < held.length) accept(held[answered++]!, { clientOrderId: `${"y".repeat(1000)}${answered}` });
        if (answered < held.length) idle = 0;
        await turns(1);
      }
      expect(held.length).toBeLessThan(count);
      call.resumeReading();
      for (;;) {
        while (answered < held.length) accept(held[answered++]!, { clientOrderId: `${"y".repeat(1000)}${answered}` });
        if (call.end !== null) break;
        await turns(1);
      }
      call.close();
      expect([call.answers.length, call.end?.code]).toEqual([count, "ok"]);
    }, 30_000);

    test("a deadline ends the stream deadline_exceeded without the answers in flight", async () => {
      const { held, url } = await leanServer();
      // Long enough for the order to be read and held first, however loaded the machine.
      const call = new RawCall(url, protocol, protocol === "grpc" ? { "grpc-timeout": "1S" } : { "connect-timeout-ms": "1000" });
      call.write(envelopes({ tag: 1n, order: order("alice", "a1") }));
      await until(() => held.length === 1);
      // The order goes to its node with what is left of the stream's deadline, so that the
      // node does not decide it after the stream could carry its answer.
      const timeoutMs = held[0]?.command.timeoutMs;
      expect(timeoutMs !== null && timeoutMs !== undefined && timeoutMs > 0 && timeoutMs <= 1000).toBe(true);
      await until(() => call.end !== null);
      call.close();
      expect([call.answers.length, endCode(call), call.end?.message]).toEqual([0, "deadline_exceeded", "the operation timed out"]);
    });

    test("a deadline already past ends the stream deadline_exceeded before any order is read", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol, protocol === "grpc" ? { "grpc-timeout": "0m" } : { "connect-timeout-ms": "0" });
      call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }));
      await until(() => call.end !== null);
      await turns();
      call.close();
      expect([held.length, call.answers.length, endCode(call)]).toEqual([0, 0, "deadline_exceeded"]);
    });

    test("a server shutting down ends the stream unavailable", async () => {
      const { held, server, url } = await leanServer();
      const call = new RawCall(url, protocol);
      call.write(envelopes({ tag: 1n, order: order("alice", "a1") }));
      await until(() => held.length === 1);
      const closed = server.close();
      await until(() => call.end !== null);
      call.close();
      await closed;
      expect([endCode(call), call.end?.message]).toEqual(["unavailable", "server is shutting down"]);
    });

    test("a client that accepts gzip gets answers of 1 KiB or more compressed, as connect-es sends them", async () => {
      const { held, url } = await leanServer();
      const call = new RawCall(url, protocol, { [protocol === "grpc" ? "grpc-accept-encoding" : "connect-accept-encoding"]: "gzip" });
      call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }, { tag: 2n, order: order("alice", "a2") }));
      await until(() => held.length === 2);
      accept(held[0]!);
      accept(held[1]!, { clientOrderId: "z".repeat(1100) });
      await call.done;
      call.close();
      expect(call.headers[protocol === "grpc" ? "grpc-encoding" : "connect-content-encoding"]).toBe("gzip");
      expect(call.answers.map((a) => (a.result.case === "order" ? a.result.value.clientOrderId.length : 0))).toEqual([2, 1100]);
      expect(call.compressedEnvelopes).toBe(1);
    });
  });
}

test("each order its node answers counts once in the balancer's route stage when it is handed on and once in its answer stage when written; an order the balancer refuses itself counts in neither", async () => {
  const { route, answer } = balancerMetrics.stages;
  const [routedBefore, answeredBefore] = [route.count, answer.count];
  const { held, url } = await leanServer();
  const call = new RawCall(url, "connect");
  call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }, { tag: 2n }, { tag: 3n, order: order("alice", "a2") }));
  await until(() => held.length === 2);
  expect([route.count - routedBefore, answer.count - answeredBefore]).toEqual([2, 0]);
  // The second answer waits for the first: it is written, and timed, with it.
  accept(held[1]!);
  await turns();
  expect(answer.count - answeredBefore).toBe(0);
  accept(held[0]!);
  await call.done;
  call.close();
  expect(call.answers.map((a) => a.tag)).toEqual([2n, 1n, 3n]);
  expect([route.count - routedBefore, answer.count - answeredBefore]).toEqual([2, 2]);
});

test("calls that are not gRPC or Connect streams of SubmitOrders are not taken: gRPC-web, other methods, GET", () => {
  const fastPath = submitOrdersStreams(() => {
    throw new Error("no order may be sent");
  }, keys.gate);
  const signal = new AbortController().signal;
  const base = { ":method": "POST", ":path": PATH, "content-type": "application/grpc" };
  const others: http2.IncomingHttpHeaders[] = [
    { ...base, "content-type": "application/grpc-web+proto" },
    { ...base, "content-type": "application/json" },
    { ...base, ":path": "/oms.v1.OrderService/SubmitOrder" },
    { ...base, ":method": "GET" },
  ];
  // The stream is never touched for a call that is left alone.
  for (const headers of others) expect(fastPath(null as unknown as http2.ServerHttp2Stream, headers, signal)).toBe(false);
  expect(fastPath.streams).toBe(0);
});

const refusedHeaders: [string, Record<string, string>, string, string][] = [
  ["a malformed grpc-timeout", { "grpc-timeout": "soon" }, "invalid_argument", "grpc-timeout: protocol error: invalid grpc timeout value: soon"],
  ["a grpc-timeout beyond the longest deadline", { "grpc-timeout": "99999999H" }, "invalid_argument", "grpc-timeout: timeout 359999996400000ms must be <= 60000"],
  ["an unknown compression", { "grpc-encoding": "br" }, "unimplemented", 'grpc-encoding: unknown compression "br"; supported encodings are gzip, identity'],
];
for (const [what, headers, code, message] of refusedHeaders) {
  test(`${what} is refused ${code} naming the header, before any order is read`, async () => {
    const { held, url } = await leanServer();
    const call = new RawCall(url, "grpc", headers);
    call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }));
    await call.done;
    call.close();
    expect([held.length, endCode(call), call.end?.message]).toEqual([0, code, message]);
  });
}

test("Connect's protocol version other than 1 is refused naming the header", async () => {
  const { held, url } = await leanServer();
  const call = new RawCall(url, "connect", { "connect-protocol-version": "2" });
  call.finish(envelopes({ tag: 1n, order: order("alice", "a1") }));
  await call.done;
  call.close();
  expect([held.length, endCode(call), call.end?.message]).toEqual([0, "invalid_argument", 'connect-protocol-version: must be "1", got "2"']);
});
