// Held sockets cannot starve the balancer: 300 silent connections against a cap of 50 are
// mostly closed as they arrive, the 50 let in are closed at the head timeout, /metrics counts
// both, and then a new client is served. (Before the limits, each of the 300 held a file
// descriptor for as long as its client liked.) Settings come from the configuration.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { sampleOf } from "../metrics/scrape.ts";

const CONNECTIONS_MAX = 50;
const HELD_SOCKETS = 300;
const HEADERS_TIMEOUT_MS = 500;
let dataDir = "";
let balancer: RunningBalancer;
let url = "";

/** Every call's headers to the balancer, in one place so that an API key can be added at merge. */
function balancerHeaders(): Record<string, string> {
  return {};
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "oms-balancer-limits-"));
  const config: ClusterConfig = {
    ...CLUSTER_DEFAULTS,
    shardCount: 1,
    dataDir,
    logLevel: "error",
    balancer: { ...CLUSTER_DEFAULTS.balancer, connectionsMax: CONNECTIONS_MAX, headersTimeoutMs: HEADERS_TIMEOUT_MS },
    // No node runs: the limits are the balancer's own.
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0] }],
  };
  balancer = await startBalancer(config, 0);
  url = `http://127.0.0.1:${balancer.server.port}`;
});

afterAll(async () => {
  await balancer?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function series(name: string): Promise<number | undefined> {
  const response = await fetch(`${url}/metrics`, { headers: { ...balancerHeaders(), connection: "close" } });
  return sampleOf(await response.text(), name);
}

const closedCount = async (reason: string) => (await series(`oms_balancer_connections_closed_total{reason="${reason}"}`)) ?? 0;

test("300 silent sockets against a cap of 50: the excess closed at once, the rest at the head timeout, all counted; then a new client is served", async () => {
  const [capBefore, headBefore] = [await closedCount("connections_max"), await closedCount("headers_timeout")];
  for (let i = 0; i < 50 && balancer.server.connectionCounts().open > 0; i++) await Bun.sleep(10);
  const sockets = await Promise.all(
    Array.from({ length: HELD_SOCKETS }, () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port: balancer.server.port }, () => resolve(socket));
        socket.on("error", () => undefined);
      }),
    ),
  );
  const allClosed = await Promise.all(sockets.map((socket) => new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once("close", () => resolve(true))))));
  expect(allClosed.every(Boolean)).toBe(true);
  expect((await closedCount("connections_max")) - capBefore).toBe(HELD_SOCKETS - CONNECTIONS_MAX);
  expect((await closedCount("headers_timeout")) - headBefore).toBe(CONNECTIONS_MAX);
  // Of all those sockets none is left open: the scrape's own connection, perhaps, is all there is.
  expect([0, 1]).toContain((await series("oms_balancer_connections_open")) ?? -1);
  const health = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { ...balancerHeaders(), "content-type": "application/json" }, body: "{}" });
  expect(await health.json()).toEqual({ status: "SERVING" });
});
