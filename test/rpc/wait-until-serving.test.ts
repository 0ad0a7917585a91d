// waitUntilServing: resolves only once Health says SERVING, stops at once for a process that
// exited, and names the last answer when time runs out.
import { afterEach, expect, test } from "bun:test";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc } from "../../src/rpc/serve.ts";
import { waitUntilServing } from "../../src/rpc/wait-until-serving.ts";

const servers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serveHealth(status: ServingStatus): Promise<{ url: string; health: HealthStatus }> {
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, status);
  const server = await serveRpc({ host: "127.0.0.1", port: 0, routes: (router) => registerHealth(router, health) });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, health };
}

test("waits through NOT_SERVING and resolves once the server says SERVING", async () => {
  const { url, health } = await serveHealth(ServingStatus.NOT_SERVING);
  let checksWhileNotServing = 0;
  const waited = waitUntilServing(url, {
    timeoutMs: 20_000,
    pollMs: 5,
    // Asked before every check: counts the checks made while the server was not serving.
    exitedBecause: () => {
      if (health.get(SERVER_HEALTH) === ServingStatus.NOT_SERVING) checksWhileNotServing += 1;
      if (checksWhileNotServing === 3) health.set(SERVER_HEALTH, ServingStatus.SERVING);
      return null;
    },
  });
  await waited;
  expect(checksWhileNotServing).toBe(3);
  expect(health.get(SERVER_HEALTH)).toBe(ServingStatus.SERVING);
});

test("a process that exited ends the wait with its reason", async () => {
  const { url } = await serveHealth(ServingStatus.NOT_SERVING);
  const outcome = await waitUntilServing(url, { timeoutMs: 20_000, exitedBecause: () => "signal SIGKILL" }).then(
    () => "resolved",
    (error: unknown) => String(error),
  );
  expect(outcome).toBe("Error: exited (signal SIGKILL) before serving");
});

test("running out of time names the last status the server gave", async () => {
  const { url } = await serveHealth(ServingStatus.NOT_SERVING);
  const outcome = await waitUntilServing(url, { timeoutMs: 100, pollMs: 10 }).then(
    () => "resolved",
    (error: unknown) => String(error),
  );
  expect(outcome).toBe("Error: not SERVING after 100 ms (status NOT_SERVING)");
});
