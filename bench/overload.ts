// `bun bench/overload.ts [--repo DIR] [--rate N] [--seconds N] [--deadline-ms N]`: the overload
// check of issue 10. `oms node` and `oms balancer` (from DIR, this checkout by default, so that
// an older build can be run the same way) take SubmitOrder calls open-loop at a rate above what
// they can serve, each with a deadline (connect-timeout-ms); the client waits for the server's
// answer however late, so every answer counted is the server's own. Afterwards every account's
// orders are listed, and the report says how calls were answered, how many orders answered
// deadline_exceeded were placed all the same (they must be none), and the balancer's peak RSS.
import type { Subprocess } from "bun";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { codeFromHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { ListOrdersRequestSchema, ListOrdersResponseSchema, OrderStatusFilter, SubmitOrderRequestSchema } from "../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";
import { freePort } from "../src/rpc/free-port.ts";
import { waitUntilServing } from "../src/rpc/wait-until-serving.ts";

const ACCOUNTS = 256;
const SHARD_COUNT = 16;
/** Calls started per tick; ticks every TICK_MS. */
const TICK_MS = 10;
/** Connections the calls are spread over: a server takes at most 1,000 streams at once on one. */
const SESSIONS = Number(process.env["OVERLOAD_SESSIONS"] ?? 64);
/** The client's own wait for an answer: far past any deadline, so the server's answer is what counts. */
const CLIENT_WAIT_MS = 60_000;

const { values } = parseArgs({ args: process.argv.slice(2), options: { repo: { type: "string" }, rate: { type: "string" }, seconds: { type: "string" }, "deadline-ms": { type: "string" } } });
const REPO = values.repo ?? join(import.meta.dir, "..");
const RATE_PER_S = Number(values.rate ?? 30_000);
const SECONDS = Number(values.seconds ?? 10);
const DEADLINE_MS = Number(values["deadline-ms"] ?? 1_000);

/** The admin key every call presents ("" against a build without API keys, which needs none). */
let apiKey = "";

/** Every request header of this driver, in one place. */
function headers(path: string, contentType: string, extra: Record<string, string> = {}): http2.OutgoingHttpHeaders {
  return { ":method": "POST", ":path": path, "content-type": contentType, ...(apiKey === "" ? {} : { authorization: `Bearer ${apiKey}` }), ...extra };
}

function call(session: http2.ClientHttp2Session, path: string, contentType: string, body: Uint8Array, extra: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve) => {
    const stream = session.request(headers(path, contentType, extra));
    let status = 0;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => stream.close(), CLIENT_WAIT_MS);
    stream.on("response", (head) => (status = Number(head[":status"])));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ status, body: Buffer.concat(chunks) });
    });
    stream.end(body);
  });
}

function codeOf(answer: { status: number; body: Buffer }): string {
  if (answer.status === 200) return "ok";
  if (answer.status === 0) return "no answer";
  try {
    return (JSON.parse(answer.body.toString("utf8")) as { code: string }).code;
  } catch {
    // The status came but not the body (the connection closed under it): the code the
    // Connect protocol gives the status.
    return `${codeToString(codeFromHttpStatus(answer.status))} (HTTP ${answer.status}, no body)`;
  }
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "oms-overload-"));
  const [nodePort, balancerPort] = [await freePort(), await freePort()];
  const configPath = join(dir, "cluster.json");
  writeFileSync(configPath, JSON.stringify({
    shardCount: SHARD_COUNT, dataDir: join(dir, "data"), logLevel: "warn",
    balancer: { port: balancerPort },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: nodePort, shards: Array.from({ length: SHARD_COUNT }, (_, shard) => shard) }],
  }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OMS_")));
  const spawn = (args: string[]): Subprocess => Bun.spawn([process.execPath, "src/cli/main.ts", ...args], { cwd: REPO, stdin: "pipe", stdout: "inherit", stderr: "inherit", env });
  // An admin key (its per-key rate limit is far above this driver's): a build older than API
  // keys has no bootstrap-key and serves without one.
  const bootstrap = Bun.spawnSync([process.execPath, "src/cli/main.ts", "bootstrap-key", "--config", configPath, "--admin"], { cwd: REPO, env });
  apiKey = bootstrap.exitCode === 0 ? bootstrap.stdout.toString().trim() : "";
  const node = spawn(["node", "--config", configPath, "--node-id", "node-a", "--exit-with-parent"]);
  const balancer = spawn(["balancer", "--config", configPath]);
  const url = `http://127.0.0.1:${balancerPort}`;
  try {
    await waitUntilServing(`http://127.0.0.1:${nodePort}`, { timeoutMs: 30_000 });
    await waitUntilServing(url, { timeoutMs: 30_000 });
    // The balancer started with the node and may have found it down: its next health check
    // (every second) finds it up.
    await Bun.sleep(1_500);
    const connect = () => {
      const session = http2.connect(url);
      session.on("error", () => undefined);
      return session;
    };
    const session = connect();
    const sessions = Array.from({ length: SESSIONS }, connect);
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `ovl-${i}`);
    for (const accountId of accounts) {
      for (const [method, request] of [["CreateAccount", { accountId }], ["Deposit", { accountId, amount: "100000000" }]] as const) {
        const answer = await call(session, `/oms.v1.AccountService/${method}`, "application/json", Buffer.from(JSON.stringify(request)));
        if (answer.status !== 200) throw new Error(`${method} ${accountId}: ${answer.status} ${answer.body.toString("utf8")}`);
      }
    }
    const answers = new Map<string, number>();
    const deadlineExceeded = new Set<string>();
    const pending: Promise<void>[] = [];
    const perTick = Math.max(1, Math.round((RATE_PER_S * TICK_MS) / 1000));
    const ticks = Math.round((SECONDS * 1000) / TICK_MS);
    const started = performance.now();
    let sent = 0;
    for (let tick = 0; tick < ticks; tick++) {
      for (let i = 0; i < perTick; i++) {
        const clientOrderId = `o-${sent}`;
        const accountId = accounts[sent % ACCOUNTS] as string;
        sent += 1;
        const body = toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, {
          accountId, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1.00",
        }));
        pending.push(call(sessions[sent % SESSIONS] as http2.ClientHttp2Session, "/oms.v1.OrderService/SubmitOrder", "application/proto", body, { "connect-timeout-ms": String(DEADLINE_MS) }).then((answer) => {
          const code = codeOf(answer);
          answers.set(code, (answers.get(code) ?? 0) + 1);
          if (code.startsWith("deadline_exceeded")) deadlineExceeded.add(clientOrderId);
        }));
      }
      const next = started + (tick + 1) * TICK_MS;
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    const sendSeconds = (performance.now() - started) / 1000;
    await Promise.all(pending);
    const rssMb = peakRssMb(balancer.pid);
    let placedAfterDeadline = 0;
    let placed = 0;
    for (const accountId of accounts) {
      let pageToken = "";
      do {
        const answer = await call(session, "/oms.v1.OrderService/ListOrders", "application/proto", toBinary(ListOrdersRequestSchema, create(ListOrdersRequestSchema, { accountId, status: OrderStatusFilter.ALL, pageSize: 500, pageToken })));
        if (answer.status !== 200) throw new Error(`ListOrders ${accountId}: ${answer.status} ${answer.body.toString("utf8")}`);
        const page = fromBinary(ListOrdersResponseSchema, answer.body);
        for (const order of page.orders) {
          placed += 1;
          if (deadlineExceeded.has(order.clientOrderId)) placedAfterDeadline += 1;
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
    }
    session.close();
    for (const each of sessions) each.close();
    console.log(JSON.stringify({
      repo: REPO, ratePerSec: RATE_PER_S, sent, sendSeconds: Number(sendSeconds.toFixed(1)), deadlineMs: DEADLINE_MS,
      answers: Object.fromEntries([...answers].sort()), placed, deadlineExceededButPlaced: placedAfterDeadline, balancerPeakRssMb: Math.round(rssMb),
    }));
  } finally {
    node.kill("SIGTERM");
    balancer.kill("SIGTERM");
    await Promise.all([node.exited, balancer.exited]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
