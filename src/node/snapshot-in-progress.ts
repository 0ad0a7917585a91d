// A shard snapshot taken a slice at a time between commands, so that a large shard does not
// stop order flow while it is encoded. It captures the ledger as it was when it began: the
// accounts that existed then, each encoded either by a slice or, if a command is about to
// change it first, just before that change.
import type { Account } from "../core/account.ts";
import { AccountsJoin, encodeAccount } from "../core/ledger-codec.ts";
import type { Ledger } from "../core/state-machine.ts";
import { MAIN_THREAD_SLICE_MS } from "../metrics/main-thread-work.ts";

/** Bytes the join copies between looks at the clock: well under a slice's worth of copying. */
const JOIN_CHUNK_BYTES = 64 * 1024;

export class SnapshotInProgress {
  private readonly accountIds: string[];
  private readonly parts = new Map<string, Uint8Array>();
  /** The ids above as a set, built only when a command touches an account before its slice. */
  private captured: Set<string> | undefined;
  private next = 0;
  /** Set once every account is encoded: the parts are then joined a slice at a time too. */
  private join: AccountsJoin | null = null;

  constructor(
    private readonly ledger: Ledger,
    /** Monotonic ms that bound a slice (the simulation's clock stands still within one). */
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.accountIds = [...ledger.keys()];
  }

  /** Call before any change to this account: its part must show it as it was. */
  beforeChange(accountId: string): void {
    if (this.parts.has(accountId)) return;
    const account = this.ledger.get(accountId);
    // An account created after the snapshot began is not in it (its creation is after it).
    if (account === undefined || !this.wasThere(accountId)) return;
    this.parts.set(accountId, encodeAccount(account));
  }

  /**
   * Encodes accounts, then joins their parts, for about sliceMs; true once the snapshot is whole.
   * A slice overruns sliceMs only by one account's encoding, which grows with its hot orders.
   */
  step(sliceMs = MAIN_THREAD_SLICE_MS): boolean {
    const until = this.nowMs() + sliceMs;
    while (this.next < this.accountIds.length) {
      const accountId = this.accountIds[this.next++] as string;
      if (!this.parts.has(accountId)) this.parts.set(accountId, encodeAccount(this.accountOf(accountId)));
      if (this.nowMs() >= until) return false;
    }
    this.join ??= new AccountsJoin(this.accountIds.map((accountId) => this.parts.get(accountId) as Uint8Array));
    while (!this.join.step(JOIN_CHUNK_BYTES)) {
      if (this.nowMs() >= until) return false;
    }
    return true;
  }

  finish(): Uint8Array {
    if (this.join === null) throw new Error("snapshot: finished before every account was encoded");
    return this.join.result();
  }

  private wasThere(accountId: string): boolean {
    this.captured ??= new Set(this.accountIds);
    return this.captured.has(accountId);
  }

  private accountOf(accountId: string): Account {
    const account = this.ledger.get(accountId);
    if (account === undefined) throw new Error(`invariant: account ${accountId} vanished during a snapshot`);
    return account;
  }
}
