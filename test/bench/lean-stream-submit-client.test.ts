// The load generator's lean SubmitOrders client against the balancer's lean path with a
// stand-in node: every order settles with its own answer (accepted or refused, whichever
// stream and order they come back on), and close() waits until every stream has ended.
import { afterAll, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { LeanStreamSubmitClient } from "../../bench/lean-stream-submit-client.ts";
import { NodeAnswer } from "../../src/balancer/node-answer.ts";
import type { SentCommand } from "../../src/balancer/node-link.ts";
import { submitOrdersStreams } from "../../src/balancer/submit-orders-stream.ts";
import { NodeCommandSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { SubmitOrderRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { serveRpc, type RpcServer } from "../../src/rpc/serve.ts";
import { keyHeaders, memoryGate } from "../support/api-keys.ts";

let server: RpcServer | null = null;
afterAll(async () => {
  await server?.close();
});

test("every order settles with its own answer, refusals as errors, and close() waits for the streams to end", async () => {
  const held: SentCommand[] = [];
  const keys = await memoryGate();
  server = await serveRpc({ host: "127.0.0.1", port: 0, routes: () => undefined, http2StreamPath: submitOrdersStreams((_, command) => held.push(command), keys.gate) });
  const client = new LeanStreamSubmitClient(`http://127.0.0.1:${server.port}`, 2, keyHeaders(keys.admin));
  const count = 300;
  const settled: string[] = new Array(count).fill("pending");
  const all = Array.from({ length: count }, (_, tag) => {
    const order = client.encode(create(SubmitOrderRequestSchema, { accountId: `acct-${tag % 7}`, clientOrderId: `o-${tag}`, symbol: "AAPL", qty: "1" }));
    return client.submit(tag, order, tag % 7).then(
      () => (settled[tag] = "accepted"),
      (error: unknown) => (settled[tag] = String(error instanceof Error ? error.message : error)),
    );
  });
  while (held.length < count) await new Promise((resolve) => setImmediate(resolve));
  // Answered from the last to the first: the client must match answers by tag, not by position.
  for (const command of held.reverse()) {
    const decoded = fromBinary(NodeCommandSchema, command.command);
    const clientOrderId = decoded.command.case === "submitOrder" ? decoded.command.value.clientOrderId : "";
    const refused = clientOrderId.endsWith("7");
    const result = refused
      ? create(NodeResultSchema, { result: { case: "error", value: { code: Code.FailedPrecondition, message: `buying_power: not enough for ${clientOrderId}` } } })
      : create(NodeResultSchema, { result: { case: "submitOrder", value: { order: { id: `id-${clientOrderId}`, clientOrderId } } } });
    command.resolve(new NodeAnswer(toBinary(NodeResultSchema, result)));
  }
  await Promise.all(all);
  await client.close();
  for (let tag = 0; tag < count; tag++) {
    expect(settled[tag]).toBe(String(tag).endsWith("7") ? `failed_precondition: buying_power: not enough for o-${tag}` : "accepted");
  }
});
