// The KeyStore contract, run against SQLite and Postgres: keys survive closing and opening the
// store (a restart), a revocation is seen through another handle (another balancer), the
// revision moves with every change and only then, and a balancer's KeyRing over a second handle
// stops accepting a revoked key at its next poll.
import { afterEach, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { issueKey } from "../../src/auth/api-key.ts";
import { KeyRing } from "../../src/auth/key-ring.ts";
import type { KeyStore } from "../../src/auth/key-store.ts";
import { ADMIN, accountScope, issueTestKey } from "../support/api-keys.ts";

export interface KeyStoreUnderTest {
  /** A new handle on the same store, as another balancer (or the same one after a restart) opens it. */
  open(): Promise<KeyStore>;
  dispose(): Promise<void>;
}

export function describeKeyStoreContract(name: string, fresh: () => Promise<KeyStoreUnderTest>): void {
  describe(`${name} (KeyStore contract)`, () => {
    let store: KeyStoreUnderTest | null = null;
    const handles: KeyStore[] = [];
    async function open(): Promise<KeyStore> {
      store ??= await fresh();
      const handle = await store.open();
      handles.push(handle);
      return handle;
    }
    afterEach(async () => {
      for (const handle of handles.splice(0)) await handle.close();
      await store?.dispose();
      store = null;
    });

    test("keys survive a restart, with their scope, label, time and hash", async () => {
      const first = await open();
      const admin = await issueKey(ADMIN, "ops", 1_000);
      const alice = await issueKey(accountScope("alice"), "alice's bot", 2_000);
      await first.insert(admin.record);
      await first.insert(alice.record);
      await first.close();
      handles.splice(0);
      const again = await open();
      expect(await again.list()).toEqual([admin.record, alice.record]);
    });

    test("a revocation is seen through another handle, keeps the key listed, and a second one changes nothing", async () => {
      const [a, b] = [await open(), await open()];
      const issued = await issueKey(accountScope("bob"), "", 1_000);
      await a.insert(issued.record);
      const before = await b.revision();
      const revoked = await b.revoke(issued.record.keyId, 5_000);
      expect(revoked).toEqual({ ...issued.record, revokedAtMs: 5_000 });
      const after = await a.revision();
      expect(after).not.toBe(before);
      expect(await a.revoke(issued.record.keyId, 9_000)).toEqual({ ...issued.record, revokedAtMs: 5_000 });
      expect(await a.revision()).toBe(after);
      expect(await a.revoke("kmissing", 9_000)).toBeNull();
      expect(await a.list()).toEqual([{ ...issued.record, revokedAtMs: 5_000 }]);
    });

    test("the revision moves with each insert and revocation, and not otherwise", async () => {
      const handle = await open();
      const start = await handle.revision();
      expect(await handle.revision()).toBe(start);
      const issued = await issueKey(ADMIN, "", 1);
      await handle.insert(issued.record);
      const inserted = await handle.revision();
      await handle.list();
      expect(await handle.revision()).toBe(inserted);
      await handle.revoke(issued.record.keyId, 2);
      expect(new Set([start, inserted, await handle.revision()]).size).toBe(3);
    });

    test("a key revoked through one balancer's handle is refused by another balancer at its next poll", async () => {
      const [issuing, polled] = [await open(), await open()];
      const bearer = await issueTestKey(issuing, accountScope("carol"));
      const [keyId, secret] = bearer.split(":") as [string, string];
      const ring = new KeyRing(polled);
      await ring.refresh();
      expect(await ring.authenticate({ keyId, secret })).toEqual({ keyId, scope: accountScope("carol") });
      await issuing.revoke(keyId, 3);
      await ring.refresh();
      const refused = await ring.authenticate({ keyId, secret });
      expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    });
  });
}
