// Runs in the browser page (bundled by Bun.build): a user's first session through
// @connectrpc/connect-web, over Connect JSON or gRPC-web, from the page's own origin to the
// balancer's. Returns plain JSON for the test to check.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AccountService } from "../../../src/gen/oms/v1/account_service_pb.ts";
import { OrderService } from "../../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce, type TradeUpdate } from "../../../src/gen/oms/v1/trading_pb.ts";

export type PageProtocol = "connect-json" | "grpc-web";

export interface ScenarioResult {
  pageOrigin: string;
  createdId: string;
  cashAfterDeposit: string;
  submittedOrderIds: string[];
  fill: { event: string; orderId: string; qty: string; price: string; positionQty: string } | null;
  notFound: { code: string; message: string } | null;
}

// The stream is subscribed before the first order, but the page cannot tell when the
// subscription reaches the node; an order placed before that has its fill sent to no one. So
// buy again, a bounded number of times, until a fill of one of these orders is seen.
const BUY_ATTEMPTS_MAX = 10;
const FILL_WAIT_MS = 3_000;

async function runScenario(baseUrl: string, protocol: PageProtocol, accountId: string, missingOrderId: string, apiKey: string): Promise<ScenarioResult> {
  // Authorization is not a CORS-safelisted header: every call is preflighted, which the balancer allows.
  const interceptors: Interceptor[] = [(next) => (request) => {
    request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  }];
  const transport = protocol === "grpc-web" ? createGrpcWebTransport({ baseUrl, interceptors }) : createConnectTransport({ baseUrl, useBinaryFormat: false, interceptors });
  const accounts = createClient(AccountService, transport);
  const orders = createClient(OrderService, transport);
  const created = await accounts.createAccount({ accountId });
  const deposited = await accounts.deposit({ accountId, amount: "10000" });

  const updates: TradeUpdate[] = [];
  let wake = (): void => undefined;
  const abort = new AbortController();
  const reading = (async () => {
    for await (const response of orders.streamTradeUpdates({ accountId }, { signal: abort.signal, timeoutMs: 0 })) {
      if (response.update !== undefined) updates.push(response.update);
      wake();
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  const submitted: string[] = [];
  let fill: TradeUpdate | undefined;
  for (let attempt = 0; attempt < BUY_ATTEMPTS_MAX && fill === undefined; attempt++) {
    const answer = await orders.submitOrder({ accountId, symbol: "SPY", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, qty: "1" });
    submitted.push(answer.order?.id ?? "");
    fill = await fillWithin(updates, submitted, FILL_WAIT_MS, (resume) => (wake = resume));
  }
  abort.abort();
  await reading;

  let notFound: ScenarioResult["notFound"] = null;
  try {
    await orders.getOrder({ accountId, key: { case: "orderId", value: missingOrderId } });
  } catch (error) {
    const connectError = ConnectError.from(error);
    notFound = { code: Code[connectError.code], message: connectError.rawMessage };
  }
  return {
    pageOrigin: pageOrigin(),
    createdId: created.account?.id ?? "",
    cashAfterDeposit: deposited.account?.cash ?? "",
    submittedOrderIds: submitted,
    fill:
      fill === undefined
        ? null
        : { event: fill.event, orderId: fill.order?.id ?? "", qty: fill.qty, price: fill.price, positionQty: fill.positionQty },
    notFound,
  };
}

// The test's type-check knows Bun's globals, not the DOM's.
function pageOrigin(): string {
  return (globalThis as { location?: { origin: string } }).location?.origin ?? "(not in a page)";
}

async function fillWithin(
  updates: readonly TradeUpdate[],
  orderIds: readonly string[],
  waitMs: number,
  onWake: (resume: () => void) => void,
): Promise<TradeUpdate | undefined> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const fill = updates.find((update) => update.event === "fill" && orderIds.includes(update.order?.id ?? ""));
    if (fill !== undefined) return fill;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    await new Promise<void>((resolve) => {
      onWake(resolve);
      setTimeout(resolve, left);
    });
  }
}

Object.assign(globalThis, { runScenario });
