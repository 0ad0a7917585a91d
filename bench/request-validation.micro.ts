// `bun bench/request-validation.micro.ts`: what the edge's buf.validate check
// (src/balancer/request-validation.ts) costs per SubmitOrder request, beside what each path
// already pays to read the request: the Connect unary path decodes it with fromBinary, the
// SubmitOrders stream with the generated codec. Variants run back to back, interleaved pass
// by pass, timed in CPU time (the cores are shared: wall time counts the other processes'
// turns), and each keeps its fastest pass.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { requestRefusal } from "../src/balancer/request-validation.ts";
import { SubmitOrderRequestSchema, type SubmitOrderRequest } from "../src/gen/oms/v1/order_service_pb.ts";
import { decodeSubmitOrderRequest } from "../src/gen/oms/v1/order_service_wire.ts";
import { OrderType, Side, TimeInForce } from "../src/gen/oms/v1/trading_pb.ts";

const REQUESTS = 100_000;
const PASSES = 11;

function cpuMsSince(started: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

function main(): void {
  const messages: SubmitOrderRequest[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    messages.push(create(SubmitOrderRequestSchema, {
      accountId: `acct-${i % 2_000}`, clientOrderId: `c-${i}`, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT,
      timeInForce: TimeInForce.DAY, qty: String(1 + (i % 100)), limitPrice: "187.25",
    }));
  }
  const blobs = messages.map((message) => toBinary(SubmitOrderRequestSchema, message));
  const plain = blobs.map((bytes) => decodeSubmitOrderRequest(bytes));
  let sink = 0;
  const variants: [string, () => void][] = [
    ["fromBinary (the Connect unary path's decode)", () => { for (const bytes of blobs) sink += fromBinary(SubmitOrderRequestSchema, bytes).qty.length; }],
    ["generated decode (the stream path's)", () => { for (const bytes of blobs) sink += decodeSubmitOrderRequest(bytes).qty.length; }],
    ["validate a protobuf-es message", () => { for (const message of messages) if (requestRefusal(SubmitOrderRequestSchema, message) !== null) sink += 1; }],
    ["validate a generated codec's object", () => { for (const message of plain) if (requestRefusal(SubmitOrderRequestSchema, message) !== null) sink += 1; }],
  ];
  const fastestMs = new Map<string, number>();
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, run] of variants) {
      const started = process.cpuUsage();
      run();
      const ms = cpuMsSince(started);
      fastestMs.set(name, Math.min(fastestMs.get(name) ?? Infinity, ms));
    }
  }
  console.log(`${REQUESTS} SubmitOrderRequests, fastest of ${PASSES} interleaved passes, CPU time per request:`);
  for (const [name] of variants) console.log(`  ${name}: ${(((fastestMs.get(name) ?? 0) * 1000) / REQUESTS).toFixed(2)} µs`);
  if (sink < 0) console.log(sink);
}

main();
