// An API key: a public id and a secret. The secret is 256 random bits from the OS's CSPRNG and
// is stored only as an argon2id hash; the id is random too (96 bits), so ids cannot be guessed
// and reveal nothing about accounts. Both are base64url, safe in a header and in "ID:SECRET".
import { randomBytes } from "node:crypto";

/** Who a key acts for: one account, or the cluster's administrators. */
export type KeyScope = { readonly kind: "admin" } | { readonly kind: "account"; readonly accountId: string };

export interface ApiKeyRecord {
  readonly keyId: string;
  /** Bun.password's PHC string (argon2id): what verifies a secret, never the secret. */
  readonly secretHash: string;
  readonly scope: KeyScope;
  readonly label: string;
  readonly createdAtMs: number;
  /** null while the key works. */
  readonly revokedAtMs: number | null;
}

export interface IssuedKey {
  readonly record: ApiKeyRecord;
  /** Shown once, to whoever asked for the key; never stored. */
  readonly secret: string;
}

const KEY_ID_BYTES = 12;
const SECRET_BYTES = 32;
/** A label is for people; this bounds what one caller can make the store hold per key. */
export const KEY_LABEL_CHARS_MAX = 200;

/**
 * argon2id at OWASP's second recommended setting (19 MiB, 2 passes): ~30 ms of one core, paid
 * once when a key is issued and once per balancer when it first verifies; later calls are
 * checked against a SHA-256 in memory (key-ring.ts). Bun.password needs no native add-on.
 */
export const SECRET_HASH = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;

/** "k" and 16 base64url characters. */
function newKeyId(): string {
  return `k${randomBytes(KEY_ID_BYTES).toString("base64url")}`;
}

export async function issueKey(scope: KeyScope, label: string, nowMs: number): Promise<IssuedKey> {
  const secret = randomBytes(SECRET_BYTES).toString("base64url");
  const secretHash = await Bun.password.hash(secret, SECRET_HASH);
  return { secret, record: { keyId: newKeyId(), secretHash, scope, label, createdAtMs: nowMs, revokedAtMs: null } };
}

/** "ID:SECRET", as the Authorization: Bearer header, --api-key and OMS_API_KEY carry a key. */
export function bearerOf(keyId: string, secret: string): string {
  return `${keyId}:${secret}`;
}
