// The balancer→node hop: many calls share one HTTP/2 session, messages that encode to zero
// bytes do not wear the session out, and every call has a deadline.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { createNodeSession, createNodeTransport } from "../../src/rpc/transport.ts";

const health = new HealthStatus();
let server: RpcServer;
let baseUrl: string;

beforeAll(async () => {
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  health.set("oms.internal.v1.NodeService", ServingStatus.SERVING);
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health) });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.close());

test("200 concurrent calls over createNodeTransport all succeed on one HTTP/2 session", async () => {
  const before = server.connectionCounts();
  const session = createNodeSession(baseUrl);
  const client = createClient(Health, createNodeTransport(baseUrl, { session }));
  const replies = await Promise.all(
    Array.from({ length: 200 }, () => client.check({ service: "oms.internal.v1.NodeService" })),
  );
  session.abort();
  expect(replies.filter((reply) => reply.status === ServingStatus.SERVING).length).toBe(200);
  const after = server.connectionCounts();
  expect(after.http2 - before.http2).toBe(1);
  expect(after.http1 - before.http1).toBe(0);
});

test("1500 calls whose request encodes to zero bytes keep using one session", async () => {
  // Servers treat zero-length DATA frames as a flood and drop the session after 1000.
  const before = server.connectionCounts();
  const session = createNodeSession(baseUrl);
  const client = createClient(Health, createNodeTransport(baseUrl, { session }));
  let serving = 0;
  for (let call = 0; call < 1500; call += 1) {
    const reply = await client.check({ service: SERVER_HEALTH });
    if (reply.status === ServingStatus.SERVING) serving += 1;
  }
  session.abort();
  expect(serving).toBe(1500);
  expect(server.connectionCounts().http2 - before.http2).toBe(1);
});

test("a call that the node never answers ends with DEADLINE_EXCEEDED at the default timeout", async () => {
  const client = createClient(Health, createNodeTransport(baseUrl, { timeoutMs: 200 }));
  const statuses: ServingStatus[] = [];
  let failure: ConnectError | undefined;
  try {
    // Watch sends the current status, then waits for a change that never comes.
    for await (const response of client.watch({ service: SERVER_HEALTH })) statuses.push(response.status);
  } catch (error) {
    failure = ConnectError.from(error);
  }
  expect(statuses).toEqual([ServingStatus.SERVING]);
  expect(failure?.code).toBe(Code.DeadlineExceeded);
});

test("a timeout that is not a positive integer is refused", () => {
  expect(() => createNodeTransport(baseUrl, { timeoutMs: 0 })).toThrow("timeoutMs must be a positive integer");
});
