// Every protocol path of the balancer refuses a message larger than MESSAGE_BYTES_MAX with
// RESOURCE_EXHAUSTED as soon as it knows, without buffering it and without waiting for the
// client to finish sending: each request below sends 5 MiB and leaves its body open, so an
// answer that waited for the end would never come (the test would time out). Compressed
// bodies are held to the same bound once inflated.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http from "node:http";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { MESSAGE_BYTES_MAX } from "../../src/rpc/rpc-limits.ts";
import { startInProcessCluster, type InProcessCluster } from "../support/in-process-cluster.ts";
import { keyHeaders } from "../support/api-keys.ts";

let cluster: InProcessCluster;
let port = 0;
let adminKey = "";

beforeAll(async () => {
  cluster = await startInProcessCluster("size");
  port = cluster.balancer.server.port;
  adminKey = cluster.adminKey;
}, 30_000);

afterAll(async () => {
  await cluster.stop();
});

const OVERSIZE_BYTES = MESSAGE_BYTES_MAX + 1024 * 1024;
const SUBMIT_ORDER = "/oms.v1.OrderService/SubmitOrder";
const SUBMIT_ORDERS = "/oms.v1.OrderService/SubmitOrders";

/** Every request header this file sends, in one place: with the admin key, so that what is refused is the size. */
function requestHeaders(contentType: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": contentType, ...keyHeaders(adminKey), ...extra };
}

/** A gRPC / Connect streaming envelope declaring `length` bytes, with them (zeros). */
function envelope(length: number, flags = 0): Buffer {
  const bytes = Buffer.alloc(5 + length);
  bytes[0] = flags;
  bytes.writeUInt32BE(length, 1);
  return bytes;
}

/** What came back: the HTTP status, the gRPC status if any, and the body's text (Connect's error JSON, gRPC-web's trailer frame). */
interface Answer {
  status: number;
  grpcStatus: string;
  body: string;
  connection: string;
}

/** Over HTTP/2: sends `body` and, unless `end`, leaves the request open. */
function overHttp2(path: string, headers: Record<string, string>, body: Buffer, end = false): Promise<Answer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  return new Promise<Answer>((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => (head = received));
    stream.on("trailers", (received) => (trailers = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () =>
      resolve({ status: Number(head[":status"]), grpcStatus: String(head["grpc-status"] ?? trailers["grpc-status"] ?? ""), body: Buffer.concat(chunks).toString("latin1"), connection: "" }),
    );
    if (end) stream.end(body);
    else stream.write(body);
  }).finally(() => session.destroy());
}

/** Over HTTP/1.1: the same. */
function overHttp1(path: string, headers: Record<string, string>, body: Buffer, end = false): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path, method: "POST", headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, grpcStatus: String(response.headers["grpc-status"] ?? ""), body: Buffer.concat(chunks).toString("latin1"), connection: String(response.headers["connection"] ?? "") });
        request.destroy();
      });
    });
    request.on("error", reject);
    if (end) request.end(body);
    else request.write(body);
  });
}

const RESOURCE_EXHAUSTED_GRPC = "8";
const connectRefusal = expect.stringMatching(/^\{"code":"resource_exhausted","message":"message (size \d+ )?is larger than (configured readMaxBytes )?4194304 bytes?( once decompressed)?"\}$/);

test("Connect unary, HTTP/1.1, JSON and binary: refused at once; the connection closes after the answer", async () => {
  for (const contentType of ["application/json", "application/proto"]) {
    const answer = await overHttp1(SUBMIT_ORDER, requestHeaders(contentType), Buffer.alloc(OVERSIZE_BYTES, 0x20));
    expect([answer.status, answer.body, answer.connection]).toEqual([429, connectRefusal, "close"]);
  }
  // A declared content-length over the bound is refused before a byte of the body is read.
  const declared = await overHttp1(SUBMIT_ORDER, requestHeaders("application/json", { "content-length": String(OVERSIZE_BYTES) }), Buffer.alloc(16, 0x20));
  expect([declared.status, declared.body]).toEqual([429, connectRefusal]);
}, 30_000);

test("Connect unary, HTTP/2, JSON and binary: refused at once, and the stream reset so the client stops sending", async () => {
  for (const contentType of ["application/json", "application/proto"]) {
    const answer = await overHttp2(SUBMIT_ORDER, requestHeaders(contentType), Buffer.alloc(OVERSIZE_BYTES, 0x20));
    expect([answer.status, answer.body]).toEqual([429, connectRefusal]);
  }
}, 30_000);

test("Connect unary with a gzipped body that inflates past the bound: refused once decompressed", async () => {
  const bomb = gzipSync(Buffer.alloc(OVERSIZE_BYTES, 0x20));
  for (const send of [overHttp1, overHttp2]) {
    const answer = await send(SUBMIT_ORDER, requestHeaders("application/json", { "content-encoding": "gzip" }), bomb, true);
    expect([answer.status, answer.body]).toEqual([429, connectRefusal]);
  }
}, 30_000);

test("gRPC and gRPC-web (HTTP/1.1 and 2) unary calls: refused from the envelope's declared size", async () => {
  const grpc = await overHttp2(SUBMIT_ORDER, requestHeaders("application/grpc", { te: "trailers" }), envelope(OVERSIZE_BYTES));
  expect(grpc.grpcStatus).toBe(RESOURCE_EXHAUSTED_GRPC);
  for (const send of [overHttp1, overHttp2]) {
    const web = await send(SUBMIT_ORDER, requestHeaders("application/grpc-web+proto"), envelope(OVERSIZE_BYTES));
    expect(web.body).toContain("grpc-status: 8");
  }
}, 30_000);

test("SubmitOrders streams (gRPC, Connect binary and JSON) and connect-es's streams: refused from the envelope's declared size", async () => {
  const grpc = await overHttp2(SUBMIT_ORDERS, requestHeaders("application/grpc", { te: "trailers" }), envelope(OVERSIZE_BYTES));
  expect(grpc.grpcStatus).toBe(RESOURCE_EXHAUSTED_GRPC);
  for (const contentType of ["application/connect+proto", "application/connect+json"]) {
    const connect = await overHttp2(SUBMIT_ORDERS, requestHeaders(contentType), envelope(OVERSIZE_BYTES));
    expect(connect.body).toContain('"code":"resource_exhausted"');
  }
  const updates = await overHttp2("/oms.v1.OrderService/StreamTradeUpdates", requestHeaders("application/grpc", { te: "trailers" }), envelope(OVERSIZE_BYTES));
  expect(updates.grpcStatus).toBe(RESOURCE_EXHAUSTED_GRPC);
}, 30_000);

test("a SubmitOrders stream's gzipped envelope that inflates past the bound is refused", async () => {
  const inflated = gzipSync(Buffer.alloc(OVERSIZE_BYTES));
  const frame = Buffer.concat([envelope(0, 1).subarray(0, 5), inflated]);
  frame.writeUInt32BE(inflated.length, 1);
  const answer = await overHttp2(SUBMIT_ORDERS, requestHeaders("application/grpc", { te: "trailers", "grpc-encoding": "gzip" }), frame, true);
  expect(answer.grpcStatus).toBe(RESOURCE_EXHAUSTED_GRPC);
}, 30_000);

test("a Connect GET's message rides in the URL: past the HTTP server's header bound (16 KiB) it is refused 431 before any of our code reads it", async () => {
  const message = encodeURIComponent(JSON.stringify({ accountId: "a", clientOrderId: "x".repeat(64 * 1024) }));
  const response = await fetch(`http://127.0.0.1:${port}/oms.v1.OrderService/GetOrder?encoding=json&message=${message}`);
  expect(response.status).toBe(431);
}, 30_000);
