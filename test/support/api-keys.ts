// API keys for tests and benches, in one place: a key store in memory for in-process paths, keys
// issued straight into a cluster's store (what `oms admin issue-key` would make), and the
// headers and client interceptor that present a key on every call.
import type { Interceptor } from "@connectrpc/connect";
import { bearerOf, type ApiKeyRecord, type KeyScope } from "../../src/auth/api-key.ts";
import { issueStoredKey } from "../../src/auth/issue-stored-key.ts";
import { CallGate } from "../../src/auth/call-gate.ts";
import { KeyLimits, type LimitsByScope } from "../../src/auth/key-limits.ts";
import { KeyRing } from "../../src/auth/key-ring.ts";
import type { KeyStore } from "../../src/auth/key-store.ts";
import { openKeyStore } from "../../src/auth/open-key-store.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";

export const ADMIN: KeyScope = { kind: "admin" };
export const accountScope = (accountId: string): KeyScope => ({ kind: "account", accountId });

export class MemoryKeyStore implements KeyStore {
  private readonly records = new Map<string, ApiKeyRecord>();
  private changes = 0n;

  async insert(record: ApiKeyRecord): Promise<void> {
    if (this.records.has(record.keyId)) throw new Error(`key ${record.keyId} exists`);
    this.records.set(record.keyId, record);
    this.changes += 1n;
  }

  async revoke(keyId: string, nowMs: number): Promise<ApiKeyRecord | null> {
    const record = this.records.get(keyId);
    if (record === undefined) return null;
    if (record.revokedAtMs !== null) return record;
    const revoked = { ...record, revokedAtMs: nowMs };
    this.records.set(keyId, revoked);
    this.changes += 1n;
    return revoked;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.records.values()];
  }

  async revision(): Promise<bigint> {
    return this.changes;
  }

  async close(): Promise<void> {}
}

/** A new key in `store`, as "ID:SECRET". */
export async function issueTestKey(store: KeyStore, scope: KeyScope, label = "test"): Promise<string> {
  const issued = await issueStoredKey(store, scope, label, Date.now());
  return bearerOf(issued.record.keyId, issued.secret);
}

/** A key issued into the store `config` names (the SQLite file in its data directory, or Postgres). */
export async function issueClusterKey(config: ClusterConfig, scope: KeyScope = ADMIN): Promise<string> {
  const store = await openKeyStore(config);
  try {
    return await issueTestKey(store, scope);
  } finally {
    await store.close();
  }
}

/** A gate over a store in memory holding one admin key, with the configured default limits unless given. */
export async function memoryGate(limits: LimitsByScope = CLUSTER_DEFAULTS.auth, nowMs?: () => number) {
  const store = new MemoryKeyStore();
  const admin = await issueTestKey(store, ADMIN);
  const keys = new KeyRing(store);
  await keys.refresh();
  const gate = new CallGate(keys, nowMs === undefined ? new KeyLimits(limits) : new KeyLimits(limits, nowMs));
  return { store, keys, gate, admin };
}

/** The headers that present `bearer` ("ID:SECRET"). */
export function keyHeaders(bearer: string): Record<string, string> {
  return { authorization: `Bearer ${bearer}` };
}

/** A connect-es client interceptor that presents `bearer` on every call (for transports made without createClientTransport). */
export function keyInterceptor(bearer: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${bearer}`);
    return next(request);
  };
}
