// What fuzzing the balancer found, one regression test each (the fuzz run itself is
// rpc.fuzz.test.ts): every protocol refuses a malformed request as INVALID_ARGUMENT naming the
// problem, never INTERNAL, never by reading something else than was sent.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { startFuzzCluster, type FuzzCluster } from "./fuzz-cluster.ts";
import { callerHeaders } from "./request-headers.ts";

let cluster: FuzzCluster;

beforeAll(async () => {
  cluster = await startFuzzCluster();
}, 30_000);

afterAll(() => cluster.stop());

/** The headers every call of this file carries: the caller's identity and the content type. */
function headersOf(contentType: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": contentType, ...callerHeaders(cluster.key), ...extra };
}

function envelope(flags: number, message: Uint8Array): Buffer {
  const bytes = Buffer.alloc(5 + message.length);
  bytes[0] = flags;
  bytes.writeUInt32BE(message.length, 1);
  bytes.set(message, 5);
  return bytes;
}

/** JSON text with a byte that is never UTF-8 (0xff) inside the string value of `field`. */
function jsonWithBadByte(before: string, after: string): Uint8Array {
  return Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
}

interface H2Answer {
  status: number;
  fields: Record<string, string>;
  body: Buffer;
}

function call2(path: string, headers: Record<string, string>, body: Uint8Array): Promise<H2Answer> {
  const session = http2.connect(cluster.baseUrl);
  return new Promise<H2Answer>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    const fields: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on("response", (head) => {
      status = Number(head[":status"]);
      for (const [name, value] of Object.entries(head)) fields[name] = String(value);
    });
    stream.on("trailers", (trailers) => {
      for (const [name, value] of Object.entries(trailers)) fields[name] = String(value);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve({ status, fields, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.end(body);
  }).finally(() => session.close());
}

test("Connect JSON with invalid UTF-8 in an id is refused, not read with U+FFFD in its place", async () => {
  // Before: 404 not_found for order "ab\uFFFD", an id the client never sent.
  const response = await fetch(`${cluster.baseUrl}/oms.v1.OrderService/GetOrder`, {
    method: "POST",
    headers: headersOf("application/json"),
    body: jsonWithBadByte('{"accountId":"fuzz-playground","orderId":"ab', '"}'),
  });
  expect(response.status).toBe(400);
  const error = (await response.json()) as { code: string; message: string };
  expect(error.code).toBe("invalid_argument");
  expect(error.message).toContain("oms.v1.GetOrderRequest");
});

test("gRPC-web JSON with invalid UTF-8 in an id is refused, not looked up with U+FFFD in its place", async () => {
  // Before: connect-es read the order id as "ab\uFFFD" and answered NOT_FOUND (5) for it.
  const body = envelope(0, jsonWithBadByte('{"accountId":"fuzz-playground","orderId":"ab', '"}'));
  const response = await fetch(`${cluster.baseUrl}/oms.v1.OrderService/GetOrder`, { method: "POST", headers: headersOf("application/grpc-web+json"), body });
  const text = Buffer.from(await response.arrayBuffer()).toString("latin1");
  expect(response.headers.get("grpc-status") ?? /grpc-status: ?(\d+)/.exec(text)?.[1]).toBe("3");
});

test("SubmitOrders in Connect JSON with invalid UTF-8 ends the stream INVALID_ARGUMENT", async () => {
  const order = jsonWithBadByte('{"tag":"1","order":{"accountId":"fuzz-playground","clientOrderId":"x', '","symbol":"AAPL","side":"SIDE_BUY","type":"ORDER_TYPE_LIMIT","timeInForce":"TIME_IN_FORCE_GTC","qty":"1","limitPrice":"1.00"}}');
  const answer = await call2("/oms.v1.OrderService/SubmitOrders", headersOf("application/connect+json"), envelope(0, order));
  expect(answer.status).toBe(200);
  const end = JSON.parse(answer.body.subarray(5).toString("utf8")) as { error?: { code: string } };
  expect(end.error?.code).toBe("invalid_argument");
});

test("gRPC requests that are not valid protobuf are INVALID_ARGUMENT, not INTERNAL", async () => {
  // A string field whose length runs past the message; before: grpc-status 13 "parse binary: premature EOF".
  for (const path of ["/oms.v1.AccountService/GetAccount", "/oms.v1.OrderService/StreamTradeUpdates", "/oms.v1.AssetService/ListAssets"]) {
    const answer = await call2(path, headersOf("application/grpc"), envelope(0, new Uint8Array([0x0a, 0x7f, 0x61])));
    expect(answer.fields["grpc-status"]).toBe("3");
    expect(decodeURIComponent(answer.fields["grpc-message"] ?? "")).toContain("parse binary");
  }
});

test("gRPC-web over HTTP/1.1 refuses a varint longer than 10 bytes as INVALID_ARGUMENT", async () => {
  const message = new Uint8Array([0x08, ...new Array<number>(11).fill(0xff), 0x01]);
  const response = await fetch(`${cluster.baseUrl}/oms.v1.OrderService/ListOrders`, { method: "POST", headers: headersOf("application/grpc-web+proto"), body: envelope(0, message) });
  const text = Buffer.from(await response.arrayBuffer()).toString("latin1");
  expect(response.headers.get("grpc-status") ?? /grpc-status: ?(\d+)/.exec(text)?.[1]).toBe("3");
});

test("a Connect protocol version other than 1 is refused on connect-es's Connect calls too", async () => {
  // Before: ListAssets (served by connect-es) answered 200 to version 2; our own path refused it.
  const response = await fetch(`${cluster.baseUrl}/oms.v1.AssetService/ListAssets`, { method: "POST", headers: headersOf("application/json", { "connect-protocol-version": "2" }), body: "{}" });
  expect(response.status).toBe(400);
  expect(((await response.json()) as { message: string }).message).toContain("connect-protocol-version");
  const get = await fetch(`${cluster.baseUrl}/oms.v1.AssetService/ListAssets?encoding=json&message=%7B%7D&connect=v2`, { headers: callerHeaders(cluster.key) });
  expect(get.status).toBe(400);
  expect(((await get.json()) as { message: string }).message).toContain("connect: query parameter");
  const stream = await call2("/oms.v1.OrderService/StreamTradeUpdates", headersOf("application/connect+json", { "connect-protocol-version": "2" }), envelope(0, Buffer.from('{"accountId":"fuzz-playground"}')));
  const end = JSON.parse(stream.body.subarray(5).toString("utf8")) as { error?: { code: string; message: string } };
  expect(end.error?.code).toBe("invalid_argument");
});

test("a SubmitOrders stream refused for its headers answers a JSON client in JSON", async () => {
  // Before: the end-of-stream error came as application/connect+proto to an application/connect+json client.
  for (const [contentType, header] of [["application/connect+json", "connect-timeout-ms"], ["application/grpc+json", "grpc-timeout"]] as const) {
    const answer = await call2("/oms.v1.OrderService/SubmitOrders", headersOf(contentType, { [header]: "soon" }), new Uint8Array(0));
    expect(answer.status).toBe(200);
    expect(answer.fields["content-type"]).toBe(contentType);
  }
});

test("a gzip body cut short is INVALID_ARGUMENT on connect-es's calls too, not INTERNAL", async () => {
  // Before: ListAssets (connect-es) answered 500 internal "decompression failed"; our own path said 400.
  const cut = gzipSync(Buffer.from("{}")).subarray(0, 12);
  for (const path of ["/oms.v1.AssetService/ListAssets", "/oms.v1.AccountService/GetAccount"]) {
    const response = await fetch(`${cluster.baseUrl}${path}`, { method: "POST", headers: headersOf("application/json", { "content-encoding": "gzip" }), body: cut });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_argument");
  }
  const grpc = await call2("/oms.v1.AssetService/ListAssets", headersOf("application/grpc", { "grpc-encoding": "gzip" }), envelope(1, cut));
  expect(grpc.fields["grpc-status"]).toBe("3");
});
