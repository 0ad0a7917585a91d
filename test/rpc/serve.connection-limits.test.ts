// Held sockets must not exhaust a port: a dripped HTTP/1.1 head, a silent connection, an idle
// keep-alive socket and an idle HTTP/2 session are closed, connections past the cap are closed
// as they arrive, and a long-lived stream with no traffic is never cut. Timeouts are short and
// injected; the tests assert what happened to the sockets and that a new client is served.
import { afterEach, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import type { ConnectionLimits } from "../../src/rpc/connection-limits.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";

const SHORT_MS = 300;
const servers: RpcServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(limits: Partial<ConnectionLimits>): Promise<RpcServer> {
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const server = await serveRpc({
    host: "127.0.0.1",
    port: 0,
    routes: (router) => registerHealth(router, health),
    limits: { connectionsMax: 1_000, headersTimeoutMs: 60_000, idleTimeoutMs: 60_000, ...limits },
  });
  servers.push(server);
  return server;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

function closed(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.once("close", () => resolve(received));
    socket.on("error", () => undefined);
  });
}

/** A health check from a new client over HTTP/1.1: the port still serves. */
async function served(port: number): Promise<boolean> {
  const client = createClient(Health, createClientTransport(`http://127.0.0.1:${port}`, "connect", { useBinaryFormat: false, timeoutMs: 5_000 }));
  return (await client.check({ service: SERVER_HEALTH })).status === ServingStatus.SERVING;
}

test("an HTTP/1.1 request head dripped a byte at a time is cut at the head timeout, and a new client is served", async () => {
  const server = await start({ headersTimeoutMs: SHORT_MS });
  const socket = await connect(server.port);
  const ended = closed(socket);
  socket.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\n");
  // Each byte well within any idle timer: only a deadline on the whole head ends this.
  const drip = setInterval(() => socket.writable && socket.write("X"), SHORT_MS / 6);
  try {
    expect(await ended).toBe("");
  } finally {
    clearInterval(drip);
  }
  expect(server.connectionCounts().headers_timeout).toBe(1);
  expect(await served(server.port)).toBe(true);
});

test("a connection that never sends a byte is cut at the head timeout", async () => {
  const server = await start({ headersTimeoutMs: SHORT_MS });
  const socket = await connect(server.port);
  expect(await closed(socket)).toBe("");
  expect(server.connectionCounts().headers_timeout).toBe(1);
});

test("an HTTP/1.1 keep-alive connection idle after its answer is closed at the idle timeout", async () => {
  const server = await start({ idleTimeoutMs: SHORT_MS });
  const socket = await connect(server.port);
  const ended = closed(socket);
  socket.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  const received = await ended;
  expect(received).toStartWith("HTTP/1.1 200");
  expect(received).toContain('"SERVING"');
  expect(server.connectionCounts().idle_timeout).toBe(1);
});

test("an HTTP/2 session idle after its preface gets GOAWAY and is closed at the idle timeout", async () => {
  const server = await start({ idleTimeoutMs: SHORT_MS });
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on("error", () => undefined);
  const goaway = new Promise<boolean>((resolve) => session.once("goaway", () => resolve(true)));
  await new Promise<void>((resolve) => session.once("close", () => resolve()));
  expect(await goaway).toBe(true);
  expect(server.connectionCounts().idle_timeout).toBe(1);
});

test("a server stream with no traffic holds its HTTP/2 session past many idle timeouts; the session idles out after it ends", async () => {
  const server = await start({ idleTimeoutMs: SHORT_MS });
  const client = createClient(Health, createClientTransport(`http://127.0.0.1:${server.port}`, "grpc", { timeoutMs: 60_000 }));
  const abort = new AbortController();
  const seen: ServingStatus[] = [];
  const first = Promise.withResolvers<void>();
  const watching = (async () => {
    try {
      for await (const response of client.watch({ service: SERVER_HEALTH }, { signal: abort.signal })) {
        seen.push(response.status);
        first.resolve();
      }
    } catch {
      // aborted below
    }
  })();
  await first.promise;
  await Bun.sleep(SHORT_MS * 4);
  expect(server.connectionCounts().idle_timeout).toBe(0);
  abort.abort();
  await watching;
  expect(seen).toEqual([ServingStatus.SERVING]);
  for (let i = 0; i < 50 && server.connectionCounts().idle_timeout === 0; i++) await Bun.sleep(SHORT_MS / 3);
  expect(server.connectionCounts().idle_timeout).toBe(1);
});

test("a Connect server stream over HTTP/1.1 with no traffic is not cut by the idle timeout", async () => {
  const server = await start({ idleTimeoutMs: SHORT_MS });
  const client = createClient(Health, createClientTransport(`http://127.0.0.1:${server.port}`, "connect", { httpVersion: "1.1", timeoutMs: 60_000 }));
  const abort = new AbortController();
  const first = Promise.withResolvers<void>();
  const watching = (async () => {
    try {
      for await (const _ of client.watch({ service: SERVER_HEALTH }, { signal: abort.signal })) first.resolve();
      return "ended";
    } catch (error) {
      return abort.signal.aborted ? "aborted by us" : `failed: ${String(error)}`;
    }
  })();
  await first.promise;
  await Bun.sleep(SHORT_MS * 4);
  expect(server.connectionCounts().idle_timeout).toBe(0);
  abort.abort();
  expect(await watching).toBe("aborted by us");
});

test("connections past the cap are closed as they arrive and counted; a freed slot serves a new client", async () => {
  const server = await start({ connectionsMax: 3 });
  const held = await Promise.all([connect(server.port), connect(server.port), connect(server.port)]);
  const extra = await connect(server.port);
  expect(await closed(extra)).toBe("");
  expect(server.connectionCounts().connections_max).toBe(1);
  const freed = held.pop() as net.Socket;
  const gone = closed(freed);
  freed.destroy();
  await gone;
  for (let i = 0; i < 50 && server.connectionCounts().open > 2; i++) await Bun.sleep(10);
  expect(await served(server.port)).toBe(true);
  for (const socket of held) socket.destroy();
});
