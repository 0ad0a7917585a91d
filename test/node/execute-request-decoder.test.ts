// The node's ExecuteRequest reader (the generated codec, test/gen holds it to protobuf-es):
// whatever bytes come, it gives the commands fromBinary gives, or refuses them with an
// InvalidArgument naming the command, the field and the byte; never anything else.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { ExecuteRequestSchema, NodeCommandSchema, type ExecuteRequest } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { SubmitOrderRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { decodeExecuteRequest } from "../../src/node/execute-request-decoder.ts";

const RUNS = 500;

type CommandInit = MessageInitShape<typeof NodeCommandSchema>;

/** Ids as the node sees them, text in any script, and longer text. */
const wireText = fc.oneof(
  fc.constantFrom("", "acct-1", "AAPL", "10", "189.25", "0191e7d2-7c1a-7000-8000-000000000000"),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 70 }),
  fc.string({ unit: "binary-ascii", minLength: 100, maxLength: 200 }),
);
/** Enum values: known, UNSPECIFIED, and numbers the schema does not have (negatives too). */
const wireEnum = fc.oneof(fc.integer({ min: -2, max: 6 }), fc.integer());
const optional = { requiredKeys: [] as [] };
const caseOf = <C extends string, V>(kind: C, value: fc.Arbitrary<V>) => fc.record({ case: fc.constant(kind), value });

const commandArbitrary: fc.Arbitrary<CommandInit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      command: caseOf(
        "submitOrder",
        fc.record(
          {
            accountId: wireText,
            clientOrderId: wireText,
            symbol: wireText,
            side: wireEnum,
            type: wireEnum,
            timeInForce: wireEnum,
            qty: wireText,
            limitPrice: wireText,
            stopPrice: wireText,
          },
          optional,
        ),
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ command: caseOf("cancelOrder", fc.record({ accountId: wireText, orderId: wireText }, optional)) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      command: caseOf(
        "replaceOrder",
        fc.record({ accountId: wireText, orderId: wireText, qty: wireText, limitPrice: wireText, stopPrice: wireText, timeInForce: wireEnum, clientOrderId: wireText }, optional),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ command: caseOf("getAccount", fc.record({ accountId: wireText }, optional)) }) },
  { weight: 1, arbitrary: fc.record({ command: caseOf("createAccount", fc.record({ accountId: wireText }, optional)) }) },
  { weight: 1, arbitrary: fc.record({ command: caseOf("deposit", fc.record({ accountId: wireText, amount: wireText }, optional)) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      command: caseOf("listOrders", fc.record({ accountId: wireText, pageSize: fc.nat(), status: wireEnum, pageToken: wireText }, optional)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      command: caseOf("getOrder", fc.record({ accountId: wireText, key: fc.oneof(caseOf("orderId", wireText), caseOf("clientOrderId", wireText)) }, optional)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({}) },
);

/** The command as the commit pipeline reads it: without protobuf-es's own properties. */
function plain(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(plain);
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key !== "$typeName" && key !== "$unknown") copy[key] = plain(field);
  }
  return copy;
}

type Outcome = { ok: true; commands: unknown } | { ok: false; error: unknown };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: true, commands: plain(decode()) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** What decodeExecuteRequest gives, from what fromBinary gives. */
function asBatch(request: ExecuteRequest) {
  return { commands: request.commands.map((command) => command.command), timeoutsMs: request.timeoutsMs };
}

function expectSameOutcome(body: Uint8Array): void {
  const generic = outcome(() => asBatch(fromBinary(ExecuteRequestSchema, body)));
  const handWritten: Outcome = outcome(() => decodeExecuteRequest(body));
  // Read: as fromBinary reads it. Refused: fromBinary refuses too, or misreads damage the
  // generated reader refuses: a known field of another wire type, or a nested message longer
  // than the message around it (fromBinary checks lengths only against the whole buffer).
  if (handWritten.ok) {
    expect(handWritten as Outcome).toEqual(generic);
    return;
  }
  const error = handWritten.error;
  expect(error).toBeInstanceOf(ConnectError);
  expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  expect((error as ConnectError).rawMessage).toMatch(/^cannot decode message oms\.internal\.v1\.ExecuteRequest\..+: .* \(at byte \d+ of \d+\)$/);
  if (generic.ok) expect((error as ConnectError).rawMessage).toMatch(/is not the schema's|runs past the end/);
}

describe("ExecuteRequest reader against protobuf-es", () => {
  test("whatever toBinary writes, it reads as fromBinary does", () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 8 }), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 8 }), (commands, timeoutsMs) => {
        const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands, timeoutsMs }));
        expect(plain(decodeExecuteRequest(body))).toEqual(plain(asBatch(fromBinary(ExecuteRequestSchema, body))));
      }),
      { numRuns: RUNS, seed: 7_001 },
    );
  });

  test("a request cut short anywhere, or with a byte changed, is read as fromBinary reads it or refused naming the field", () => {
    const damaged = fc.tuple(fc.array(commandArbitrary, { minLength: 1, maxLength: 3 }), fc.nat(), fc.nat({ max: 255 }));
    fc.assert(
      fc.property(damaged, ([commands, at, byte]) => {
        const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands }));
        for (let length = 0; length < body.length; length += 1) expectSameOutcome(body.subarray(0, length));
        const changed = body.slice();
        changed[at % changed.length] = byte;
        expectSameOutcome(changed);
      }),
      { numRuns: 200, seed: 7_004 },
    );
  });

  test("random bytes are read as fromBinary reads them or refused naming the field", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (body) => expectSameOutcome(body)),
      { numRuns: 2_000, seed: 7_005 },
    );
  });
});

describe("ExecuteRequest reader", () => {
  const submit: CommandInit = { command: { case: "submitOrder", value: { accountId: "acct-1", symbol: "AAPL", side: 1, type: 1, timeInForce: 1, qty: "10" } } };

  test("reads every command case, in the order they came, as protobuf-es's message shapes", () => {
    const body = toBinary(
      ExecuteRequestSchema,
      create(ExecuteRequestSchema, {
        commands: [submit, { command: { case: "getAccount", value: { accountId: "acct-1" } } }, { command: { case: "cancelOrder", value: { accountId: "acct-1", orderId: "o-1" } } }],
      }),
    );
    const { commands } = decodeExecuteRequest(body);
    expect(commands.map((command) => command.case)).toEqual(["submitOrder", "getAccount", "cancelOrder"]);
    expect(commands[0]?.value as unknown).toEqual({
      $typeName: "oms.v1.SubmitOrderRequest",
      accountId: "acct-1",
      clientOrderId: "",
      symbol: "AAPL",
      side: 1,
      type: 1,
      timeInForce: 1,
      qty: "10",
      limitPrice: "",
      stopPrice: "",
    });
  });

  test("a known field with another wire type than the schema's is refused, naming it", () => {
    const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands: [submit] }));
    // The side's tag (a varint) turned into a fixed32 tag of the same field.
    const sideTag = (SubmitOrderRequestSchema.field.side.number << 3) | 0;
    const at = body.indexOf(sideTag);
    const damaged = body.slice();
    damaged[at] = sideTag | 5;
    const refused = outcome(() => decodeExecuteRequest(damaged));
    expect(refused.ok ? "" : (refused.error as ConnectError).rawMessage).toStartWith(
      "cannot decode message oms.internal.v1.ExecuteRequest.commands[0].submit_order.side: wire type 5 is not the schema's",
    );
  });

  test("a string cut short is refused naming the command and the field", () => {
    const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands: [submit, submit] }));
    const qtyAt = body.lastIndexOf((SubmitOrderRequestSchema.field.qty.number << 3) | 2);
    // The second command's qty says it is longer than its message.
    const damaged = body.slice();
    damaged[qtyAt + 1] = 0x7f;
    const refused = outcome(() => decodeExecuteRequest(damaged));
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect([(refused.error as ConnectError).code, (refused.error as ConnectError).rawMessage]).toEqual([
      Code.InvalidArgument,
      `cannot decode message oms.internal.v1.ExecuteRequest.commands[1].submit_order.qty: length 127 runs past the end (at byte ${qtyAt + 2} of ${body.length})`,
    ]);
  });

  test("invalid UTF-8 in a string is refused naming the field, as proto3 requires", () => {
    const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands: [{ command: { case: "cancelOrder", value: { accountId: "acct-1", orderId: "o-1" } } }] }));
    const damaged = body.slice();
    damaged[damaged.length - 1] = 0xff;
    const refused = outcome(() => decodeExecuteRequest(damaged));
    expect(refused.ok ? "" : (refused.error as ConnectError).rawMessage).toStartWith("cannot decode message oms.internal.v1.ExecuteRequest.commands[0].cancel_order.order_id: not valid UTF-8");
  });
});
