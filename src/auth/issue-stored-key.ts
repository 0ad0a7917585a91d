// Issuing a key is making it and storing its hash: the one way AdminService, oms dev and
// oms bootstrap-key do it. Returns the key with its secret, which is shown once and not kept.
import { issueKey, type IssuedKey, type KeyScope } from "./api-key.ts";
import type { KeyStore } from "./key-store.ts";

export async function issueStoredKey(store: KeyStore, scope: KeyScope, label: string, nowMs: number): Promise<IssuedKey> {
  const issued = await issueKey(scope, label, nowMs);
  await store.insert(issued.record);
  return issued;
}
