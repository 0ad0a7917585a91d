// close() must not wait on clients: an open server stream and an idle keep-alive connection
// are both ended, and the port stops accepting.
import { expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc } from "../../src/rpc/serve.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";

test("close() returns while a gRPC server stream and a keep-alive connection are open", async () => {
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health) });
  const baseUrl = `http://127.0.0.1:${server.port}`;

  // An HTTP/1.1 connection left idle in fetch's keep-alive pool.
  const idle = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  expect(idle.status).toBe(200);
  await idle.text();

  const client = createClient(Health, createClientTransport(baseUrl, "grpc", { timeoutMs: 60_000 }));
  const first = Promise.withResolvers<void>();
  const streamEnded = (async () => {
    const seen: ServingStatus[] = [];
    try {
      for await (const response of client.watch({ service: SERVER_HEALTH })) {
        seen.push(response.status);
        first.resolve();
      }
      return { seen, error: undefined };
    } catch (error) {
      return { seen, error: ConnectError.from(error) };
    }
  })();
  await first.promise;

  await server.close();
  const { seen, error } = await streamEnded;
  expect(seen).toEqual([ServingStatus.SERVING]);
  expect(error?.code).toBe(Code.Unavailable);

  const refused = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, { method: "POST", body: "{}" }).catch(
    (reason: unknown) => reason,
  );
  expect(refused).toBeInstanceOf(Error);
});
