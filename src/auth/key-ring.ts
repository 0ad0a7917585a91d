// The balancer's view of the key store: the live keys in memory, reloaded when the store's
// revision moves (polled every pollMs, so a revoked key stops working within that on every
// balancer). A secret is checked against its argon2id hash once per balancer; after that the
// key keeps the SHA-256 of the secret that verified and a request costs one SHA-256 and a
// constant-time compare (~0.6 µs for the whole admission, bench/key-ring.micro.ts) instead of ~30 ms
// of argon2.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ApiKeyRecord, KeyScope } from "./api-key.ts";
import type { Credentials } from "./credentials.ts";
import type { KeyStore } from "./key-store.ts";
import { matchesDigest, secretDigest } from "../rpc/secret-digest.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

/** A request whose key verified: who it acts for. */
export interface Caller {
  readonly keyId: string;
  readonly scope: KeyScope;
}

interface LiveKey {
  readonly record: ApiKeyRecord;
  readonly caller: Caller;
  /** SHA-256 of the secret that verified against the hash; null until one has. */
  verified: Buffer | null;
  /** The argon2 check under way, shared by requests that arrive while it runs. */
  verifying: Promise<boolean> | null;
}

export interface KeyRingOptions {
  /** The clock the miss-reload gap is measured by; Date.now unless a test moves its own. */
  nowMs?: () => number;
}

/**
 * An id this balancer does not know makes it reload the keys at once (a key issued on another
 * balancer a moment ago), but at most once per this gap, so that a flood of made-up ids costs
 * the store at most a read every 100 ms.
 */
export const MISS_RELOAD_GAP_MS = 100;
/** The same words for an unknown id, a wrong secret and a revoked key: a guess learns nothing. */
export const KEY_REFUSED = "authorization: the API key is not valid (unknown or revoked id, or wrong secret)";

export class KeyRing {
  private keys = new Map<string, LiveKey>();
  private revision = -1n;
  private reloading: Promise<void> | null = null;
  private lastMissReloadMs = Number.NEGATIVE_INFINITY;
  private poller: ReturnType<typeof setInterval> | null = null;
  private readonly nowMs: () => number;

  constructor(
    readonly store: KeyStore,
    options: KeyRingOptions = {},
  ) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Who `credentials` act for, or UNAUTHENTICATED; a promise only while a secret is verified the first time. */
  authenticate(credentials: Credentials): Caller | ConnectError | Promise<Caller | ConnectError> {
    const live = this.keys.get(credentials.keyId);
    if (live === undefined) return this.afterMiss(credentials);
    if (live.verified !== null) return matchesDigest(live.verified, credentials.secret) ? live.caller : refused();
    return this.verifySlowly(live, credentials.secret);
  }

  /** Reads the revision and, if it moved, every key; concurrent calls share one read. */
  refresh(): Promise<void> {
    this.reloading ??= this.reload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  /** Polls the store every pollMs until stop(); a failed poll keeps the keys it had and tries again. */
  startPolling(pollMs: number, onError: (error: unknown) => void): void {
    if (this.poller !== null) return;
    this.poller = setInterval(timedJobFn("key_ring_poll", () => void this.refresh().catch(onError)), pollMs);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
  }

  private async reload(): Promise<void> {
    const revision = await this.store.revision();
    if (revision === this.revision) return;
    const records = await this.store.list();
    const next = new Map<string, LiveKey>();
    for (const record of records) {
      if (record.revokedAtMs !== null) continue;
      const previous = this.keys.get(record.keyId);
      // A key that verified before keeps its verifier: its hash cannot have changed.
      next.set(record.keyId, previous ?? { record, caller: { keyId: record.keyId, scope: record.scope }, verified: null, verifying: null });
    }
    this.keys = next;
    this.revision = revision;
  }

  private async afterMiss(credentials: Credentials): Promise<Caller | ConnectError> {
    const nowMs = this.nowMs();
    if (nowMs - this.lastMissReloadMs < MISS_RELOAD_GAP_MS) return refused();
    this.lastMissReloadMs = nowMs;
    try {
      await this.refresh();
    } catch (error) {
      return new ConnectError(`authorization: the key store cannot be read (${error instanceof Error ? error.message : String(error)}); retry shortly`, Code.Unavailable);
    }
    const live = this.keys.get(credentials.keyId);
    if (live === undefined) return refused();
    return this.authenticate(credentials);
  }

  private async verifySlowly(live: LiveKey, secret: string): Promise<Caller | ConnectError> {
    // One argon2 at a time per key: a burst of first calls waits for the one check.
    while (live.verifying !== null) {
      await live.verifying;
      if (live.verified !== null) return matchesDigest(live.verified, secret) ? live.caller : refused();
    }
    live.verifying = Bun.password.verify(secret, live.record.secretHash).catch(() => false);
    const ok = await live.verifying;
    live.verifying = null;
    if (!ok) return refused();
    live.verified = secretDigest(secret);
    // Revoked while the check ran: the reload dropped it from the map.
    return this.keys.get(live.record.keyId) === live ? live.caller : refused();
  }
}

function refused(): ConnectError {
  return new ConnectError(KEY_REFUSED, Code.Unauthenticated);
}
