// `bun bench/instant-server.ts --port N`: a Connect server whose OrderService.SubmitOrder answers
// at once with a fixed order, on the same front as oms (src/rpc/serve.ts: one port, HTTP/1.1 and
// HTTP/2, Connect JSON and binary). What a client measures against it is the client's own cost
// and the loopback's: the floor under any server, which the e2e level's independent-client row
// subtracts ("oms p99 − instant-server p99"). It runs in a process of its own, as oms does, and
// serves until SIGTERM.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { parseArgs } from "node:util";
import { OrderService, SubmitOrderResponseSchema } from "../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";
import { serveBenchServer } from "./lib/bench-server.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { port: { type: "string" } } });
const port = Number(values.port);
if (!Number.isSafeInteger(port) || port <= 0) throw new Error(`instant-server: --port N is required, got ${values.port}`);

/** An answer the size of a real one (an accepted resting limit order), made once. */
const ANSWER = create(SubmitOrderResponseSchema, {
  order: {
    id: "0193a000-0000-7000-8000-000000000000",
    clientOrderId: "0193a000-0000-7000-8000-000000000000",
    accountId: "e2e-0",
    symbol: "AAPL",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    qty: "1",
    limitPrice: "100",
    status: OrderStatus.NEW,
    filledQty: "0",
    createdAt: timestampFromMs(Date.now()),
    updatedAt: timestampFromMs(Date.now()),
  },
});

await serveBenchServer(port, (router: ConnectRouter) => router.service(OrderService, { submitOrder: () => ANSWER }));
