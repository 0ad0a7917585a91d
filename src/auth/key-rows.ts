// One key as both stores keep it in a row: the scope as a nullable account id and an admin flag.
import type { ApiKeyRecord } from "./api-key.ts";

export interface KeyRow {
  key_id: string;
  secret_hash: string;
  account_id: string | null;
  admin: boolean | number | bigint;
  label: string;
  created_at_ms: bigint | number;
  revoked_at_ms: bigint | number | null;
}

export function recordOfRow(row: KeyRow): ApiKeyRecord {
  const admin = row.admin === true || row.admin === 1 || row.admin === 1n;
  if (admin === (row.account_id !== null)) throw new Error(`key store: key ${row.key_id} must have either an account or the admin scope`);
  return {
    keyId: row.key_id,
    secretHash: row.secret_hash,
    scope: row.account_id === null ? { kind: "admin" } : { kind: "account", accountId: row.account_id },
    label: row.label,
    createdAtMs: Number(row.created_at_ms),
    revokedAtMs: row.revoked_at_ms === null ? null : Number(row.revoked_at_ms),
  };
}

export function accountOfRecord(record: ApiKeyRecord): string | null {
  return record.scope.kind === "account" ? record.scope.accountId : null;
}
