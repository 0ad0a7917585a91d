// The thread that renews the SQLite claims store's leases, so that the periodic renewal's
// commit and fsync do not stop the node's event loop (on a busy disk that was a stall of
// several to tens of ms, a few times per lease). One transaction for all the leases given.
import { SqliteThread, sqliteThreadCode } from "../log/sqlite-thread.ts";

export interface RenewRequest {
  leases: { shard: number; owner: string; epoch: bigint }[];
  expiresAtMs: number;
}

// The update is fenced by owner and epoch: a lease that a newer claim took changes no row.
const LEASE_RENEWER = sqliteThreadCode({
  what: "lease renewer",
  // The claims store creates the file and its table before the thread opens it.
  create: false,
  begin: `(db) => {
    const extend = db.prepare("UPDATE shard_owners SET lease_expires_at_ms = ? WHERE shard = ? AND owner = ? AND epoch = ?");
    const extendAll = db.transaction((renew) =>
      renew.leases.map((lease) => extend.run(renew.expiresAtMs, lease.shard, lease.owner, lease.epoch).changes === 1),
    ).immediate;
    return { statements: [extend], answer: (request) => extendAll(request.renew) };
  }`,
});

/** Renews on a worker thread; answers come back in the order the renewals were sent. */
export class LeaseRenewerThread {
  private readonly thread: SqliteThread<{ renew: RenewRequest }, boolean[]>;

  /** The file must exist with its table: the claims store creates both before this opens. */
  constructor(path: string) {
    this.thread = new SqliteThread(LEASE_RENEWER, path);
  }

  /** For each lease, whether it was extended (false: a newer claim fenced it). */
  renew(request: RenewRequest): Promise<boolean[]> {
    return this.thread.call({ renew: request });
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
