// The balancer's keys in memory: a secret is checked against its argon2id hash once and then by
// SHA-256; a wrong secret, an unknown id and a revoked key get the same refusal; a revocation in
// the store takes effect at the next poll (triggered here, not waited for); an unknown id
// reloads the keys at most once per MISS_RELOAD_GAP_MS of the injected clock.
import { expect, spyOn, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { credentialsOf, nodeHeaderLookup } from "../../src/auth/credentials.ts";
import { KEY_REFUSED, KeyRing, MISS_RELOAD_GAP_MS, type Caller } from "../../src/auth/key-ring.ts";
import { ADMIN, accountScope, issueTestKey, MemoryKeyStore } from "../support/api-keys.ts";

function credentials(bearer: string) {
  const [keyId, secret] = bearer.split(":") as [string, string];
  return { keyId, secret };
}

async function ringWith(...scopes: Parameters<typeof issueTestKey>[1][]) {
  const store = new MemoryKeyStore();
  const bearers = [];
  for (const scope of scopes) bearers.push(await issueTestKey(store, scope));
  let nowMs = 0;
  const ring = new KeyRing(store, { nowMs: () => nowMs });
  await ring.refresh();
  return { store, ring, bearers, advance: (ms: number) => (nowMs += ms) };
}

test("a key verifies once by argon2, then by SHA-256 alone; the stored hash is argon2id, not the secret", async () => {
  const { store, ring, bearers } = await ringWith(accountScope("alice"));
  const bearer = bearers[0] as string;
  const [record] = await store.list();
  expect(record?.secretHash.startsWith("$argon2id$")).toBe(true);
  expect(record?.secretHash.includes(credentials(bearer).secret)).toBe(false);
  const verify = spyOn(Bun.password, "verify");
  const first = await ring.authenticate(credentials(bearer));
  const second = ring.authenticate(credentials(bearer));
  expect(first).toEqual({ keyId: record?.keyId, scope: { kind: "account", accountId: "alice" } } as Caller);
  // Cached: answered synchronously, with no second argon2.
  expect(second).toEqual(first);
  expect(verify).toHaveBeenCalledTimes(1);
  verify.mockRestore();
});

test("a wrong secret, an unknown id and a revoked key are all UNAUTHENTICATED in the same words", async () => {
  const { store, ring, bearers, advance } = await ringWith(accountScope("alice"), ADMIN);
  const [alice, admin] = bearers as [string, string];
  await ring.authenticate(credentials(alice));
  const wrongAfterVerified = await ring.authenticate({ ...credentials(alice), secret: "not-it" });
  const wrongBeforeVerified = await ring.authenticate({ ...credentials(admin), secret: "not-it" });
  const unknown = await ring.authenticate({ keyId: "kunknown", secret: "x" });
  await store.revoke(credentials(alice).keyId, 1);
  await ring.refresh();
  advance(MISS_RELOAD_GAP_MS);
  const revoked = await ring.authenticate(credentials(alice));
  for (const answer of [wrongAfterVerified, wrongBeforeVerified, unknown, revoked]) {
    expect(answer).toBeInstanceOf(ConnectError);
    expect([(answer as ConnectError).code, (answer as ConnectError).rawMessage]).toEqual([Code.Unauthenticated, KEY_REFUSED]);
  }
  // The admin key still works with its right secret after a wrong one.
  expect(await ring.authenticate(credentials(admin))).not.toBeInstanceOf(ConnectError);
});

test("a revocation in the store stops a verified key at the next poll, and not before", async () => {
  const { store, ring, bearers } = await ringWith(accountScope("alice"));
  const alice = bearers[0] as string;
  await ring.authenticate(credentials(alice));
  await store.revoke(credentials(alice).keyId, 1);
  // Until the poll the ring answers from memory: this is the window keyPollMs bounds.
  expect(ring.authenticate(credentials(alice))).not.toBeInstanceOf(ConnectError);
  await ring.refresh();
  expect(await ring.authenticate(credentials(alice))).toBeInstanceOf(ConnectError);
});

test("an unknown id reloads the keys (a key issued elsewhere works at once), at most once per gap", async () => {
  const { store, ring, advance } = await ringWith(ADMIN);
  const list = spyOn(store, "revision");
  const fresh = await issueTestKey(store, accountScope("bob"));
  expect(await ring.authenticate(credentials(fresh))).toEqual({ keyId: credentials(fresh).keyId, scope: accountScope("bob") });
  expect(list).toHaveBeenCalledTimes(1);
  for (let i = 0; i < 5; i++) await ring.authenticate({ keyId: `kmadeup${i}`, secret: "x" });
  expect(list).toHaveBeenCalledTimes(1);
  advance(MISS_RELOAD_GAP_MS);
  await ring.authenticate({ keyId: "kmadeup", secret: "x" });
  expect(list).toHaveBeenCalledTimes(2);
});

test("credentials come from Authorization: Bearer or Alpaca's two headers; anything else names the header", () => {
  const of = (headers: Record<string, string>) => credentialsOf(nodeHeaderLookup(headers));
  expect(of({ authorization: "Bearer kabc:s3cret" })).toEqual({ keyId: "kabc", secret: "s3cret" });
  expect(of({ authorization: "bearer kabc:s3cret" })).toEqual({ keyId: "kabc", secret: "s3cret" });
  expect(of({ "apca-api-key-id": "kabc", "apca-api-secret-key": "s3cret" })).toEqual({ keyId: "kabc", secret: "s3cret" });
  const refusals = [{}, { authorization: "Basic Zm9vOmJhcg==" }, { authorization: "Bearer nocolon" }, { "apca-api-key-id": "kabc" }, { authorization: `Bearer k:${"x".repeat(300)}` }].map(of);
  for (const refusal of refusals) expect((refusal as ConnectError).code).toBe(Code.Unauthenticated);
  expect(refusals.map((refusal) => (refusal as ConnectError).rawMessage.split(":", 1)[0])).toEqual(["authorization", "authorization", "authorization", "apca-api-secret-key", "authorization"]);
});
