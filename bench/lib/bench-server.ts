// The servers the benchmark measures oms against (bench/instant-server.ts, bench/baseline-server.ts):
// oms's own front (src/rpc/serve.ts: one port, HTTP/1.1 and HTTP/2, Connect JSON and binary),
// health SERVING so that the bench can wait for it, the services given, and on SIGTERM a close
// (then whatever else the server holds) before the process exits.
import type { ConnectRouter } from "@connectrpc/connect";
import { HealthStatus, registerHealth, SERVER_HEALTH, ServingStatus } from "../../src/rpc/health.ts";
import { serveRpc } from "../../src/rpc/serve.ts";

export async function serveBenchServer(port: number, services: (router: ConnectRouter) => void, onStop: () => Promise<unknown> = async () => {}): Promise<void> {
  const health = new HealthStatus();
  health.set(SERVER_HEALTH, ServingStatus.SERVING);
  const server = await serveRpc({
    host: "127.0.0.1",
    port,
    routes: (router: ConnectRouter) => {
      registerHealth(router, health);
      services(router);
    },
  });
  process.on("SIGTERM", () => void server.close().then(onStop).then(() => process.exit(0)));
}
