// A shard snapshot taken a slice at a time between commands, so that a large shard does not
// stop order flow while it is encoded. It captures the ledger as it was when it began: the
// accounts that existed then, each encoded either by a slice or, if a command is about to
// change it first, just before that change.
import type { Account } from "../core/account.ts";
import { encodeAccount, joinAccounts } from "../core/ledger-codec.ts";
import type { Ledger } from "../core/state-machine.ts";

/** How long one slice may hold the event loop. */
export const SNAPSHOT_SLICE_MS = 2;

export class SnapshotInProgress {
  private readonly accountIds: string[];
  private readonly parts = new Map<string, Uint8Array>();
  /** The ids above as a set, built only when a command touches an account before its slice. */
  private captured: Set<string> | undefined;
  private next = 0;

  constructor(private readonly ledger: Ledger) {
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

  /** Encodes accounts for about sliceMs; true once every account is encoded. */
  step(sliceMs = SNAPSHOT_SLICE_MS): boolean {
    const until = performance.now() + sliceMs;
    while (this.next < this.accountIds.length) {
      const accountId = this.accountIds[this.next++] as string;
      if (!this.parts.has(accountId)) this.parts.set(accountId, encodeAccount(this.accountOf(accountId)));
      if (performance.now() >= until) break;
    }
    return this.next >= this.accountIds.length;
  }

  finish(): Uint8Array {
    if (this.next < this.accountIds.length) throw new Error("snapshot: finished before every account was encoded");
    return joinAccounts(this.accountIds.map((accountId) => this.parts.get(accountId) as Uint8Array));
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
