// A failed call of the e2e load generator is named by the Connect code it got, wherever its
// client put it, so that a run past saturation says whether requests timed out or were refused.
import { expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectFailureKind } from "../../bench/lib/connect-failure-kind.ts";

test("connect-es's ConnectError: its code, as Connect writes it on the wire", () => {
  expect(connectFailureKind(new ConnectError("late", Code.DeadlineExceeded))).toBe("deadline_exceeded");
  expect(connectFailureKind(new ConnectError("full", Code.ResourceExhausted))).toBe("resource_exhausted");
});

test("the lean client's HTTP error: the code in its body, else the one its status stands for", () => {
  expect(connectFailureKind(new Error('SubmitOrder: HTTP 504: {"code":"deadline_exceeded","message":"the operation timed out"}'))).toBe("deadline_exceeded");
  expect(connectFailureKind(new Error("SubmitOrder: HTTP 503: "))).toBe("unavailable");
});

test("a SubmitOrders refusal: its code; no code at all: no answer", () => {
  expect(connectFailureKind(new Error("unavailable: node node-a did not confirm in time"))).toBe("unavailable");
  expect(connectFailureKind(new Error("SubmitOrders stream ended before the client ended its side"))).toBe("no answer");
  expect(connectFailureKind("socket hang up")).toBe("no answer");
});
