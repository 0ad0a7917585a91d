// CORS on the balancer, as a browser meets it, over HTTP/1.1 and HTTP/2 and on each path that
// answers: the lean unary path (Connect JSON), connect-es (gRPC-web Health), and the HTTP/2
// SubmitOrders stream path. Its one node is never started, so every call is answered
// UNAVAILABLE without a cluster; what is checked here is the headers around the answers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { cors } from "@connectrpc/connect";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { HealthCheckRequestSchema } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { SubmitOrdersRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { corsOriginProblem, corsOrigins, isOriginAllowed, LOOPBACK_ORIGINS } from "../../src/rpc/cors.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { envelope } from "./envelope.ts";

const ALLOWED = "https://app.example.com";
const REFUSED = "https://evil.example.net";

test("allowed origins: exact ones (any case), hosts with any port, every origin; nothing else", () => {
  const origins = corsOrigins(["https://App.Example.com", ...LOOPBACK_ORIGINS]);
  expect(isOriginAllowed(origins, "https://app.example.com")).toBe(true);
  expect(isOriginAllowed(origins, "HTTPS://APP.EXAMPLE.COM")).toBe(true);
  expect(isOriginAllowed(origins, "http://app.example.com")).toBe(false);
  expect(isOriginAllowed(origins, "https://app.example.com:8443")).toBe(false);
  expect(isOriginAllowed(origins, "http://localhost:5173")).toBe(true);
  expect(isOriginAllowed(origins, "http://localhost")).toBe(true);
  expect(isOriginAllowed(origins, "http://127.0.0.1:1")).toBe(true);
  expect(isOriginAllowed(origins, "http://[::1]:8080")).toBe(true);
  // Lookalikes of the loopback patterns.
  expect(isOriginAllowed(origins, "http://localhost.evil.net:80")).toBe(false);
  expect(isOriginAllowed(origins, "http://localhost:99999")).toBe(false);
  expect(isOriginAllowed(origins, "http://localhost:80@evil.net")).toBe(false);
  expect(isOriginAllowed(origins, "https://localhost:8080")).toBe(false);
  expect(isOriginAllowed(origins, "null")).toBe(false);
  expect(isOriginAllowed(corsOrigins([]), "http://localhost:3000")).toBe(false);
  expect(isOriginAllowed(corsOrigins(["*"]), "https://anywhere.example")).toBe(true);
  expect(corsOriginProblem("https://app.example.com:8443")).toBeUndefined();
  expect(corsOriginProblem("http://app.example.com:80")).toContain('did you mean "http://app.example.com"');
});

let balancer: RunningBalancer;
let baseUrl: string;

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  balancer = await startBalancer({
    ...base,
    shardCount: 1,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-cors-")),
    balancer: { ...base.balancer, port: 0, corsOrigins: [ALLOWED] },
    // Never started: the balancer answers UNAVAILABLE for it.
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0] }],
  });
  baseUrl = `http://127.0.0.1:${balancer.server.port}`;
});

afterAll(() => balancer.stop());

interface Answer {
  status: number;
  headers: Record<string, string>;
}

type Exchange = (path: string, method: string, headers: Record<string, string>, body?: Uint8Array) => Promise<Answer>;

const http1: Exchange = async (path, method, headers, body) => {
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  await response.arrayBuffer();
  return { status: response.status, headers: Object.fromEntries(response.headers) };
};

const http2Exchange: Exchange = (path, method, headers, body) =>
  new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":method": method, ":path": path, ...headers });
    stream.on("error", reject);
    stream.on("response", (responseHeaders) => {
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(responseHeaders)) if (!name.startsWith(":")) flat[name] = String(value);
      stream.resume();
      stream.on("end", () => {
        session.close();
        resolve({ status: Number(responseHeaders[":status"]), headers: flat });
      });
    });
    stream.end(body);
  });

function corsHeadersOf(answer: Answer): Record<string, string> {
  return Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith("access-control-")));
}

const PREFLIGHT = {
  "access-control-request-method": "POST",
  "access-control-request-headers": "content-type,connect-protocol-version,connect-timeout-ms",
};
const GET_ACCOUNT = "/oms.v1.AccountService/GetAccount";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

function grpcWebHealthCheck(): Uint8Array {
  return envelope(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" })));
}

function submitOrdersBody(): Uint8Array {
  const order = { accountId: "alice", clientOrderId: "c1", symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "1" };
  return envelope(toBinary(SubmitOrdersRequestSchema, create(SubmitOrdersRequestSchema, { tag: 1n, order })));
}

for (const [protocol, exchange] of [["HTTP/1.1", http1], ["HTTP/2", http2Exchange]] as const) {
  describe(protocol, () => {
    test("a preflight from an allowed origin is answered 204 with connect-es's methods and headers", async () => {
      const answer = await exchange(GET_ACCOUNT, "OPTIONS", { origin: ALLOWED, ...PREFLIGHT });
      expect(answer.status).toBe(204);
      expect(answer.headers["access-control-allow-origin"]).toBe(ALLOWED);
      expect(answer.headers["vary"]).toBe("Origin");
      expect(answer.headers["access-control-allow-methods"]?.split(", ")).toEqual([...cors.allowedMethods]);
      const allowedHeaders = answer.headers["access-control-allow-headers"]?.split(", ") ?? [];
      for (const header of [...cors.allowedHeaders, "Authorization", "APCA-API-KEY-ID", "APCA-API-SECRET-KEY"]) expect(allowedHeaders.map((h) => h.toLowerCase())).toContain(header.toLowerCase());
    });

    test("a preflight from any other origin gets no CORS headers, and a reason for curl", async () => {
      const answer = await exchange(GET_ACCOUNT, "OPTIONS", { origin: REFUSED, ...PREFLIGHT });
      expect(answer.status).toBe(403);
      expect(corsHeadersOf(answer)).toEqual({});
    });

    const calls: [string, string, Record<string, string>, () => Uint8Array][] = [
      ["the lean unary path (Connect JSON)", GET_ACCOUNT, { "content-type": "application/json" }, () => new TextEncoder().encode('{"accountId":"alice"}')],
      ["connect-es (gRPC-web)", HEALTH_CHECK, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, grpcWebHealthCheck],
    ];
    if (protocol === "HTTP/2") {
      calls.push(["the SubmitOrders stream path (gRPC)", "/oms.v1.OrderService/SubmitOrders", { "content-type": "application/grpc", te: "trailers" }, submitOrdersBody]);
    }
    for (const [path, route, headers, body] of calls) {
      test(`${path}: an allowed origin's answer names it and exposes the status headers`, async () => {
        const answer = await exchange(route, "POST", { origin: ALLOWED, ...headers }, body());
        expect(answer.headers["access-control-allow-origin"]).toBe(ALLOWED);
        // A rate limit's retry-after too (src/auth/key-limits.ts). These calls carry no key: a refusal is CORS'd like an answer.
        expect(answer.headers["access-control-expose-headers"]?.split(", ")).toEqual([...cors.exposedHeaders, "retry-after"]);
        expect(answer.headers["vary"]).toBe("Origin");
      });

      test(`${path}: another origin's answer has no CORS headers; no origin, none either`, async () => {
        const refused = await exchange(route, "POST", { origin: REFUSED, ...headers }, body());
        expect(refused.status).toBeGreaterThan(0);
        expect(corsHeadersOf(refused)).toEqual({});
        expect(refused.headers["vary"]).toBe("Origin");
        const sameOrigin = await exchange(route, "POST", headers, body());
        expect(corsHeadersOf(sameOrigin)).toEqual({});
      });
    }
  });
}
