import { expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  connectCodeOf,
  connectErrorOf,
  connectErrorOfNodeError,
  nodeErrorOfRefusal,
  nodeErrorOfThrown,
  type RefusalCode,
} from "../../src/rpc/errors.ts";

test("each refusal code maps to its Connect code, whose numbers are fixed by the protocol", () => {
  const expected: Record<RefusalCode, number> = {
    invalid_argument: 3,
    not_found: 5,
    already_exists: 6,
    failed_precondition: 9,
    unavailable: 14,
    deadline_exceeded: 4,
    internal: 13,
  };
  for (const [code, number] of Object.entries(expected)) {
    expect(connectCodeOf(code as RefusalCode) as number).toBe(number);
  }
});

test("a refusal becomes a ConnectError with its code and message", () => {
  const error = connectErrorOf({ code: "failed_precondition", message: "qty: exceeds buying power" });
  expect(error.code).toBe(Code.FailedPrecondition);
  expect(error.rawMessage).toBe("qty: exceeds buying power");
});

test("a refusal survives the node hop unchanged", () => {
  const wire = nodeErrorOfRefusal({ code: "not_found", message: "accountId: acct-9 is unknown" });
  expect(wire).toEqual({ code: 5, message: "accountId: acct-9 is unknown" });
  const error = connectErrorOfNodeError(wire);
  expect(error.code).toBe(Code.NotFound);
  expect(error.rawMessage).toBe("accountId: acct-9 is unknown");
});

test("a thrown ConnectError keeps its code across the hop; anything else is internal", () => {
  expect(nodeErrorOfThrown(new ConnectError("shard 3 is recovering", Code.Unavailable))).toEqual({
    code: Code.Unavailable,
    message: "shard 3 is recovering",
  });
  expect(nodeErrorOfThrown(new Error("assertion failed")).code).toBe(Code.Internal);
});

test("a node error with a code outside 1..16 becomes internal and says so", () => {
  for (const code of [0, 17, 2.5]) {
    const error = connectErrorOfNodeError({ code, message: "boom" });
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe(`node sent invalid error code ${code}: boom`);
  }
});
