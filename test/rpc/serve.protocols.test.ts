// One port, every protocol: each test reaches the same Health service a different way.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";

const health = new HealthStatus();
let server: RpcServer;
let baseUrl: string;

beforeAll(async () => {
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  health.set("oms.v1.OrderService", ServingStatus.NOT_SERVING);
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health) });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.close());

const checkPath = "/grpc.health.v1.Health/Check";

test("port 0 is replaced by the port actually listened on", () => {
  expect(server.port).toBeGreaterThan(0);
});

test("Connect JSON unary over HTTP/1.1 via fetch", async () => {
  const response = await fetch(`${baseUrl}${checkPath}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ service: "oms.v1.OrderService" }),
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: "NOT_SERVING" });
});

test("Check of an unknown service is NOT_FOUND in Connect JSON", async () => {
  const response = await fetch(`${baseUrl}${checkPath}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ service: "no.such.Service" }),
  });
  expect(response.status).toBe(404);
  expect(((await response.json()) as { code: string }).code).toBe("not_found");
});

async function curlCheck(extraArgs: string[]): Promise<{ body: string; httpVersion: string }> {
  const curl = Bun.spawn(
    ["curl", "-sS", "--max-time", "10", ...extraArgs, "-X", "POST", "-H", "Content-Type: application/json",
      "-d", '{"service":""}', "-w", "\n%{http_version}", `${baseUrl}${checkPath}`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const output = await new Response(curl.stdout).text();
  expect(await curl.exited).toBe(0);
  const newline = output.lastIndexOf("\n");
  return { body: output.slice(0, newline), httpVersion: output.slice(newline + 1) };
}

test("plain curl gets Connect JSON over HTTP/1.1", async () => {
  const { body, httpVersion } = await curlCheck([]);
  expect(httpVersion).toBe("1.1");
  expect(JSON.parse(body)).toEqual({ status: "SERVING" });
});

test("curl --http2-prior-knowledge gets Connect JSON over HTTP/2", async () => {
  const { body, httpVersion } = await curlCheck(["--http2-prior-knowledge"]);
  expect(httpVersion).toBe("2");
  expect(JSON.parse(body)).toEqual({ status: "SERVING" });
});

test("an HTTP/1.1 request whose first byte arrives alone is still routed to HTTP/1.1", async () => {
  // "P" is also the first byte of the HTTP/2 preface, so the router must wait for more.
  const socket = net.connect(server.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const body = '{"service":""}';
  const reply = new Promise<string>((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("SERVING")) resolve(text);
    });
  });
  socket.write("P");
  await Bun.sleep(50);
  socket.write(`OST ${checkPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  const text = await reply;
  socket.destroy();
  expect(text.startsWith("HTTP/1.1 200")).toBe(true);
  expect(text).toContain('{"status":"SERVING"}');
});

test("Connect binary via connect-node over HTTP/1.1 and HTTP/2", async () => {
  for (const httpVersion of ["1.1", "2"] as const) {
    const client = createClient(Health, createClientTransport(baseUrl, "connect", { httpVersion }));
    expect((await client.check({ service: "oms.v1.OrderService" })).status).toBe(ServingStatus.NOT_SERVING);
  }
});

test("gRPC over HTTP/2 with prior knowledge, including its error trailers", async () => {
  const client = createClient(Health, createClientTransport(baseUrl, "grpc"));
  expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  const refused = await client.check({ service: "no.such.Service" }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(ConnectError);
  expect((refused as ConnectError).code).toBe(Code.NotFound);
});

test("gRPC-web over HTTP/1.1 and HTTP/2", async () => {
  for (const httpVersion of ["1.1", "2"] as const) {
    const client = createClient(Health, createClientTransport(baseUrl, "grpc-web", { httpVersion }));
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  }
});

test("Health.Watch over gRPC sees the current status, then a change", async () => {
  const service = "oms.internal.v1.NodeService";
  health.set(service, ServingStatus.SERVING);
  const client = createClient(Health, createClientTransport(baseUrl, "grpc", { timeoutMs: 30_000 }));
  const stop = new AbortController();
  const seen: ServingStatus[] = [];
  try {
    for await (const response of client.watch({ service }, { signal: stop.signal })) {
      seen.push(response.status);
      if (seen.length === 1) health.set(service, ServingStatus.NOT_SERVING);
      if (seen.length === 2) stop.abort();
    }
  } catch (error) {
    expect(ConnectError.from(error).code).toBe(Code.Canceled);
  }
  expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
});
