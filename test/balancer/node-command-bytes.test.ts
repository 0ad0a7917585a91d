// Commands encoded by hand from a client's bytes must be exactly what protobuf-es encodes.
import { expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { encodedExecuteRequest, encodedNodeCommand, nodeCommandField } from "../../src/balancer/node-command-bytes.ts";
import { ExecuteRequestSchema, NodeCommandSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { CancelOrderRequestSchema, SubmitOrderRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";

const submit = create(SubmitOrderRequestSchema, { accountId: "acct-1", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, qty: "2", limitPrice: "101.25" });
// An empty message: its command is the field's tag and a zero length.
const cancel = create(CancelOrderRequestSchema, {});
const submitCommand = create(NodeCommandSchema, { command: { case: "submitOrder", value: submit } });
const cancelCommand = create(NodeCommandSchema, { command: { case: "cancelOrder", value: cancel } });

test("a NodeCommand built from its value's bytes is the bytes of the NodeCommand", () => {
  expect(encodedNodeCommand(nodeCommandField("submitOrder"), toBinary(SubmitOrderRequestSchema, submit))).toEqual(toBinary(NodeCommandSchema, submitCommand));
  expect(encodedNodeCommand(nodeCommandField("cancelOrder"), toBinary(CancelOrderRequestSchema, cancel))).toEqual(toBinary(NodeCommandSchema, cancelCommand));
  expect(() => nodeCommandField("noSuchCommand")).toThrow("NodeCommand has no field noSuchCommand");
});

test("a NodeCommand and an ExecuteRequest around values of multi-byte lengths are the bytes toBinary gives", () => {
  for (const length of [127, 128, 300, 20_000]) {
    const long = create(SubmitOrderRequestSchema, { ...submit, clientOrderId: "x".repeat(length) });
    const command = create(NodeCommandSchema, { command: { case: "submitOrder", value: long } });
    const encoded = encodedNodeCommand(nodeCommandField("submitOrder"), toBinary(SubmitOrderRequestSchema, long));
    expect(encoded).toEqual(toBinary(NodeCommandSchema, command));
    expect(encodedExecuteRequest([encoded, encoded])).toEqual(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands: [command, command] })));
  }
});

test("an ExecuteRequest of encoded commands is the bytes of the ExecuteRequest, commands in order", () => {
  const commands = [submitCommand, cancelCommand, submitCommand];
  expect(encodedExecuteRequest(commands.map((command) => toBinary(NodeCommandSchema, command)))).toEqual(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands })));
  expect(encodedExecuteRequest([])).toEqual(new Uint8Array());
});
