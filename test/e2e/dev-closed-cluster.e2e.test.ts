// `oms dev` runs a closed cluster: a node port called directly, as any process on the machine
// could, is refused UNAUTHENTICATED and changes nothing, while the balancer is served. The run's
// secret reaches the nodes through their environment only: it is in neither the configuration
// file that dev writes nor any process's command line.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { freePort, killDev, startDev, type DevProcess } from "./dev-process.ts";

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
let dataDir = "";
let dev: DevProcess;

/** Every public call's headers, in one place so that an API key can be added at merge. */
function balancerHeaders(): Record<string, string> {
  return { authorization: `Bearer ${dev.adminKey}` };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "oms-dev-closed-"));
  dev = await startDev(dataDir, await freePort());
}, 60_000);

afterAll(async () => {
  if (dev !== undefined) await killDev(dev);
  rmSync(dataDir, { recursive: true, force: true });
});

function nodePorts(): number[] {
  const config = JSON.parse(readFileSync(join(dataDir, "cluster.json"), "utf8")) as { nodes: { port: number }[] };
  return config.nodes.map((node) => node.port);
}

/** The processes whose parent is pid. */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // The parent pid is the second field after the parenthesised command name.
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

test("a node port called directly is refused UNAUTHENTICATED and does nothing; the balancer is served", async () => {
  for (const [index, port] of nodePorts().entries()) {
    const lean = new LeanUnaryClient(`http://127.0.0.1:${port}`, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema);
    const batch = create(ExecuteRequestSchema, { commands: [{ command: { case: "createAccount", value: { accountId: `bypass-${index}` } } }] });
    const refused = await lean.call(batch, 5_000).then(() => null, (error: unknown) => ConnectError.from(error));
    lean.close();
    expect(refused?.code).toBe(Code.Unauthenticated);
  }
  const accounts = createClient(AccountService, createClientTransport(dev.url, "connect"));
  for (const index of [0, 1]) {
    const lookup = await accounts.getAccount({ accountId: `bypass-${index}` }, { headers: balancerHeaders() }).then(() => null, (error: unknown) => ConnectError.from(error));
    expect(lookup?.code).toBe(Code.NotFound);
  }
  expect((await accounts.createAccount({ accountId: "via-balancer" }, { headers: balancerHeaders() })).account?.id).toBe("via-balancer");
});

test("the run's secret is in each node's environment, and in no file or command line", () => {
  const nodes = childrenOf(dev.proc.pid);
  expect(nodes.length).toBeGreaterThanOrEqual(2);
  const secrets = nodes.map((pid) => {
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return environ.find((entry) => entry.startsWith("OMS_CLUSTER_SECRET="))?.slice("OMS_CLUSTER_SECRET=".length) ?? "";
  });
  const secret = secrets[0] ?? "";
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  expect(new Set(secrets).size).toBe(1);
  for (const pid of [dev.proc.pid, ...nodes]) expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(secret);
  for (const file of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
    if (file.isFile() && file.name.endsWith(".json")) expect(readFileSync(join(file.parentPath, file.name), "utf8")).not.toContain(secret);
  }
});
