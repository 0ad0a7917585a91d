// The soak's end-to-end probe, a process of its own beside the soak's node: a balancer (as `oms
// balancer` starts it, from the soak's cluster file) and a Connect client of the public API
// that sends SubmitOrder through it at a fixed low rate for the whole run, open loop, each
// order timed from its intended start to its answer. Its orders rest at the node's manual venue
// and are canceled (untimed) PROBE_OPEN_MS later, so that they close and leave memory like the
// soak's own: the probe adds no open orders that grow.
//
//   Bun.spawn(["bun", "bench/soak-probe.ts", "--config", PATH, "--api-key", "ID:SECRET", "--rate", N], { ipc })
//
// Its parent asks over the IPC channel, and each request is answered with one message:
//   {op: "start"}  → {op: "started"}  (its accounts created and funded, sending begun)
//   {op: "window"} → ProbeWindow      (what was answered since the last window; the counts start again)
// It exits when the channel closes, so it never outlives the soak that started it.
import { createClient } from "@connectrpc/connect";
import { parseArgs } from "node:util";
import { startBalancer, type RunningBalancer } from "../src/cli/start-balancer.ts";
import { loadClusterConfig } from "../src/config/load-cluster-config.ts";
import { AccountService } from "../src/gen/oms/v1/account_service_pb.ts";
import { OrderService } from "../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../src/rpc/transport.ts";
import { LatencyHistogram, type LatencySummary } from "./lib/histogram.ts";

/** The probe's own accounts, apart from the soak's: its orders rotate over them. */
const PROBE_ACCOUNTS = 4;
/** Far more buying power than the orders resting at once need ($100 each). */
const DEPOSIT_DOLLARS = "10000000";
/** How long an order rests before the probe cancels it: ~200 resting at 200/s. */
const PROBE_OPEN_MS = 1_000;
/** A deadline far above any latency that counts, so that queueing shows as latency. */
const CALL_TIMEOUT_MS = 10_000;
/** Submits in flight at most (10 s of arrivals at 200/s): past it an arrival is dropped and counted. */
const IN_FLIGHT_MAX = 2_000;

export interface ProbeWindow {
  op: "window";
  latency: LatencySummary;
  /** Submits that failed in the window. */
  errors: number;
  /** Cancels that failed: an order left resting, which the memory figures would then carry. */
  cancelErrors: number;
  /** Arrivals not sent because IN_FLIGHT_MAX submits were in flight. */
  dropped: number;
  firstError: string | null;
}

export type ProbeRequest = { op: "start" } | { op: "window" };

interface Resting {
  accountId: string;
  orderId: string;
  cancelAtMs: number;
}

class Probe {
  private histogram = new LatencyHistogram();
  private errors = 0;
  private cancelErrors = 0;
  private dropped = 0;
  private firstError: string | null = null;
  private inFlight = 0;
  private readonly resting: Resting[] = [];
  private restingFrom = 0;
  private sent = 0;
  private nextAtMs = 0;
  private timer: Timer | null = null;
  private readonly intervalMs: number;

  constructor(
    private readonly orders: ReturnType<typeof createClient<typeof OrderService>>,
    private readonly accountIds: readonly string[],
    ratePerSec: number,
  ) {
    this.intervalMs = 1000 / ratePerSec;
  }

  start(): void {
    this.nextAtMs = performance.now();
    this.tick();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  window(): ProbeWindow {
    const answer: ProbeWindow = { op: "window", latency: this.histogram.summary(), errors: this.errors, cancelErrors: this.cancelErrors, dropped: this.dropped, firstError: this.firstError };
    this.histogram = new LatencyHistogram();
    this.errors = 0;
    this.cancelErrors = 0;
    this.dropped = 0;
    this.firstError = null;
    return answer;
  }

  /** Sends what is due (a timer fires late under load: those go at once, timed from their due time). */
  private tick(): void {
    const now = performance.now();
    while (this.nextAtMs <= now) {
      this.submit(this.nextAtMs);
      this.nextAtMs += this.intervalMs;
    }
    this.cancelDue(now);
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextAtMs - performance.now()));
  }

  private submit(intendedAtMs: number): void {
    if (this.inFlight >= IN_FLIGHT_MAX) {
      this.dropped += 1;
      return;
    }
    const accountId = this.accountIds[this.sent++ % this.accountIds.length] as string;
    this.inFlight += 1;
    this.orders
      .submitOrder({ accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "100" })
      .then(
        (answer) => {
          this.histogram.recordMs(performance.now() - intendedAtMs);
          const orderId = answer.order?.id;
          if (orderId === undefined) throw new Error("SubmitOrder answered without an order");
          this.resting.push({ accountId, orderId, cancelAtMs: intendedAtMs + PROBE_OPEN_MS });
        },
      )
      .catch((error: unknown) => {
        this.errors += 1;
        this.firstError ??= error instanceof Error ? error.message : String(error);
      })
      .finally(() => (this.inFlight -= 1));
  }

  private cancelDue(now: number): void {
    while (this.restingFrom < this.resting.length && (this.resting[this.restingFrom] as Resting).cancelAtMs <= now) {
      const { accountId, orderId } = this.resting[this.restingFrom++] as Resting;
      this.orders.cancelOrder({ accountId, orderId }).catch((error: unknown) => {
        this.cancelErrors += 1;
        this.firstError ??= `cancel: ${error instanceof Error ? error.message : String(error)}`;
      });
    }
    // Drop what was canceled now and then: the array holds what rests, not the whole run.
    if (this.restingFrom > 1024) {
      this.resting.splice(0, this.restingFrom);
      this.restingFrom = 0;
    }
  }
}

function parseOptions(argv: string[]): { configPath: string; apiKey: string; ratePerSec: number } {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string" }, "api-key": { type: "string" }, rate: { type: "string" } } });
  const ratePerSec = Number(values.rate);
  if (values.config === undefined || values["api-key"] === undefined || !Number.isSafeInteger(ratePerSec) || ratePerSec < 1) {
    throw new Error("soak-probe: --config PATH, --api-key ID:SECRET (an admin key: it creates and funds its accounts) and --rate N (orders/s) are required");
  }
  return { configPath: values.config, apiKey: values["api-key"], ratePerSec };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const config = loadClusterConfig(options.configPath, {});
  const balancer: RunningBalancer = await startBalancer(config);
  const url = `http://127.0.0.1:${balancer.server.port}`;
  // Connect binary over HTTP/2, one session: an ordinary client of the public API.
  const transport = createClientTransport(url, "connect", { httpVersion: "2", timeoutMs: CALL_TIMEOUT_MS, apiKey: options.apiKey });
  const accountIds = Array.from({ length: PROBE_ACCOUNTS }, (_, index) => `soak-probe-${index}`);
  const probe = new Probe(createClient(OrderService, transport), accountIds, options.ratePerSec);
  const { promise: disconnected, resolve: disconnect } = Promise.withResolvers<void>();
  process.on("disconnect", disconnect);
  process.on("message", (request: ProbeRequest) => {
    answer(request).then(
      (message) => process.send?.(message),
      (error: unknown) => {
        console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
        process.exit(1);
      },
    );
  });
  async function answer(request: ProbeRequest): Promise<object> {
    if (request.op === "window") return probe.window();
    const accounts = createClient(AccountService, transport);
    for (const accountId of accountIds) {
      await accounts.createAccount({ accountId });
      await accounts.deposit({ accountId, amount: DEPOSIT_DOLLARS });
    }
    probe.start();
    return { op: "started" };
  }
  await disconnected;
  probe.stop();
  await balancer.stop();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
