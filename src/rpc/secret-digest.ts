// Secrets compared without telling a guesser how close it came: both sides as SHA-256 digests,
// compared with timingSafeEqual, so that neither the time taken nor a length mismatch says how
// much of a guess was right. The cluster secret (cluster-secret.ts) and API keys' verified
// secrets (auth/key-ring.ts) are both checked this way.
import { createHash, timingSafeEqual } from "node:crypto";

export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Whether `secret` is the one whose digest is `expected`, in time that does not depend on where they differ. */
export function matchesDigest(expected: Buffer, secret: string): boolean {
  return timingSafeEqual(secretDigest(secret), expected);
}
