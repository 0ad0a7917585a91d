// Per-key limits on an injected clock: the bucket refills at its rate up to its burst, a refusal
// is RESOURCE_EXHAUSTED with the wait, and open streams are bounded per key and given back once.
import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyLimits, RETRY_AFTER_HEADER } from "../../src/auth/key-limits.ts";
import type { Caller } from "../../src/auth/key-ring.ts";

const alice: Caller = { keyId: "kalice", scope: { kind: "account", accountId: "alice" } };
const bob: Caller = { keyId: "kbob", scope: { kind: "account", accountId: "bob" } };
const admin: Caller = { keyId: "kadmin", scope: { kind: "admin" } };
const LIMITS = { account: { callsPerSecond: 10, burst: 3, streamsMax: 2, connectionsMax: 2 }, admin: { callsPerSecond: 1000, burst: 100, streamsMax: 5, connectionsMax: 5 } };

test("a key's burst is taken at once, then one call per 1/rate seconds; other keys are not affected", () => {
  let nowMs = 0;
  const limits = new KeyLimits(LIMITS, () => nowMs);
  expect([1, 2, 3].map(() => limits.takeCall(alice))).toEqual([null, null, null]);
  const refused = limits.takeCall(alice);
  expect(refused?.code).toBe(Code.ResourceExhausted);
  expect(refused?.rawMessage).toContain("retry after 100 ms");
  expect(refused?.metadata.get(RETRY_AFTER_HEADER)).toBe("1");
  expect(limits.takeCall(bob)).toBeNull();
  expect(limits.takeCall(admin)).toBeNull();
  nowMs = 99;
  expect(limits.takeCall(alice)?.code).toBe(Code.ResourceExhausted);
  nowMs = 100;
  expect(limits.takeCall(alice)).toBeNull();
  nowMs = 100_000;
  expect([1, 2, 3, 4].map(() => limits.takeCall(alice) === null)).toEqual([true, true, true, false]);
});

test("a key holds at most streamsMax streams; a release gives one back, once", () => {
  const limits = new KeyLimits(LIMITS, () => 0);
  const first = limits.openStream(alice);
  const second = limits.openStream(alice);
  const third = limits.openStream(alice);
  expect(third).toBeInstanceOf(ConnectError);
  expect((third as ConnectError).code).toBe(Code.ResourceExhausted);
  expect(limits.openStream(bob)).toBeInstanceOf(Function);
  (first as () => void)();
  (first as () => void)();
  expect(limits.openStream(alice)).toBeInstanceOf(Function);
  expect(limits.openStream(alice)).toBeInstanceOf(ConnectError);
  expect(second).toBeInstanceOf(Function);
});

test("a key's calls may arrive on connectionsMax connections at once; one that closes makes room", () => {
  const limits = new KeyLimits(LIMITS, () => 0);
  const [a, b, c] = [new EventEmitter(), new EventEmitter(), new EventEmitter()];
  expect([limits.takeConnection(alice, a), limits.takeConnection(alice, a), limits.takeConnection(alice, b)]).toEqual([null, null, null]);
  const refused = limits.takeConnection(alice, c);
  expect([refused?.code, refused?.rawMessage]).toEqual([Code.ResourceExhausted, "connection limit: this API key may use 2 connections at once; send more calls on fewer connections"]);
  expect(limits.takeConnection(bob, c)).toBeNull();
  expect(limits.takeConnection(alice, undefined)).toBeNull();
  a.emit("close");
  expect(limits.takeConnection(alice, c)).toBeNull();
});
