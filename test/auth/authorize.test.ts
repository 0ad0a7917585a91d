// The one decision: which key may call which method for which account. Its inputs are all it
// reads, so an account that does not exist gets the same answer as one that does.
import { expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { authorize, OTHER_ACCOUNT } from "../../src/auth/authorize.ts";
import type { Caller } from "../../src/auth/key-ring.ts";
import { METHOD_SCOPES } from "../../src/auth/method-scopes.ts";

const alice: Caller = { keyId: "kalice", scope: { kind: "account", accountId: "alice" } };
const admin: Caller = { keyId: "kadmin", scope: { kind: "admin" } };
const codeOf = (result: ReturnType<typeof authorize>) => (result instanceof ConnectError ? Code[result.code] : "allowed");

test("an account key acts on its own account, and may leave account_id out: it is implied", () => {
  expect(authorize(alice, "oms.v1.OrderService/SubmitOrder", "alice")).toEqual({ accountId: "alice", implied: false });
  expect(authorize(alice, "oms.v1.OrderService/SubmitOrder", "")).toEqual({ accountId: "alice", implied: true });
  expect(authorize(alice, "oms.v1.OrderService/StreamTradeUpdates", "")).toEqual({ accountId: "alice", implied: true });
});

test("an account key naming another account is PERMISSION_DENIED in the same words, whatever the other account", () => {
  const answers = ["bob", "no-such-account", "x".repeat(64)].map((other) => authorize(alice, "oms.v1.OrderService/GetOrder", other));
  for (const answer of answers) {
    expect(answer).toBeInstanceOf(ConnectError);
    expect([(answer as ConnectError).code, (answer as ConnectError).rawMessage]).toEqual([Code.PermissionDenied, OTHER_ACCOUNT]);
  }
});

test("admin methods need an admin key, including Withdraw and SetTradingState before they exist, and unlisted methods", () => {
  for (const procedure of [
    "oms.v1.AccountService/CreateAccount",
    "oms.v1.AccountService/Deposit",
    "oms.v1.AccountService/Withdraw",
    "oms.v1.AccountService/SetTradingState",
    "oms.v1.AdminService/IssueApiKey",
    "oms.v1.AdminService/RevokeApiKey",
    "oms.v1.AdminService/ListApiKeys",
    "oms.v1.SomeFutureService/Anything",
  ]) {
    expect([procedure, codeOf(authorize(alice, procedure, "alice"))]).toEqual([procedure, "PermissionDenied"]);
    expect([procedure, codeOf(authorize(admin, procedure, ""))]).toEqual([procedure, "allowed"]);
  }
  expect(METHOD_SCOPES.get("oms.v1.AccountService/Withdraw")).toBe("admin");
});

test("an admin key may act on any account but names it itself; any key may list assets", () => {
  expect(authorize(admin, "oms.v1.AccountService/GetAccount", "bob")).toEqual({ accountId: "bob", implied: false });
  expect(authorize(admin, "oms.v1.AccountService/GetAccount", "")).toEqual({ accountId: "", implied: false });
  expect(authorize(alice, "oms.v1.AssetService/ListAssets", "")).toEqual({ accountId: "", implied: false });
});

test("an unauthenticated caller's refusal is returned as it is, before the method or account is looked at", () => {
  const refused = new ConnectError("authorization: no key", Code.Unauthenticated);
  expect(authorize(refused, "oms.v1.AccountService/CreateAccount", "bob")).toBe(refused);
});

test("every public method has a scope", () => {
  const unary = ["AccountService/GetAccount", "AccountService/ListPositions", "OrderService/SubmitOrders", "OrderService/ListOrders", "AssetService/ListAssets"];
  for (const method of unary) expect(METHOD_SCOPES.has(`oms.v1.${method}`)).toBe(true);
});
