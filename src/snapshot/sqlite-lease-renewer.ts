// The thread that renews the SQLite claims store's leases, so that the periodic renewal's
// commit and fsync do not stop the node's event loop (on a busy disk that was a stall of
// several to tens of ms, a few times per lease). One transaction for all the leases given.
import { CLAIMS_PRAGMAS } from "./sqlite-claims-schema.ts";
import { WorkerCalls } from "../log/worker-calls.ts";

export interface RenewRequest {
  leases: { shard: number; owner: string; epoch: bigint }[];
  expiresAtMs: number;
}

// The update is fenced by owner and epoch: a lease that a newer claim took changes no row.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
let extend = null;
let extendAll = null;
self.onmessage = (message) => {
  const data = message.data;
  try {
    if (data.open !== undefined) {
      db = new Database(data.open, { readwrite: true, strict: true, safeIntegers: true });
      for (const pragma of ${JSON.stringify(CLAIMS_PRAGMAS)}) db.run(pragma);
      const synchronous = db.query("PRAGMA synchronous").get();
      if (synchronous.synchronous !== 2n) throw new Error("synchronous = FULL was not accepted");
      extend = db.prepare("UPDATE shard_owners SET lease_expires_at_ms = ? WHERE shard = ? AND owner = ? AND epoch = ?");
      extendAll = db.transaction((renew) =>
        renew.leases.map((lease) => extend.run(renew.expiresAtMs, lease.shard, lease.owner, lease.epoch).changes === 1),
      ).immediate;
      postMessage({ ok: true, value: [] });
    } else if (data.close !== undefined) {
      // Closed here rather than left to terminate() (see the snapshot writer).
      extendAll = null;
      extend?.finalize();
      db?.close();
      db = null;
      postMessage({ ok: true, value: [] });
    } else {
      if (extendAll === null) throw new Error("lease renewer used before it was opened");
      postMessage({ ok: true, value: extendAll(data.renew) });
    }
  } catch (error) {
    postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
};
`;

/** Renews on a worker thread; answers come back in the order the renewals were sent. */
export class LeaseRenewerThread {
  private readonly calls = new WorkerCalls<{ open: string } | { renew: RenewRequest } | { close: true }, boolean[]>("lease renewer", WORKER_SOURCE);

  /** The file must exist with its table: the claims store creates both before this opens. */
  constructor(path: string) {
    // The open is answered like a renewal; a failure to open fails the first renewal.
    this.calls.call({ open: path }).catch(() => undefined);
  }

  /** For each lease, whether it was extended (false: a newer claim fenced it). */
  renew(request: RenewRequest): Promise<boolean[]> {
    return this.calls.call({ renew: request });
  }

  close(): Promise<void> {
    return this.calls.close({ close: true });
  }
}
