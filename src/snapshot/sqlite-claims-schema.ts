// The SQLite claims store's settings, shared by the store and the thread that renews leases.

/** Another node's claim holds the write lock for a moment; wait for it rather than fail. */
const BUSY_TIMEOUT_MS = 1000;

/** A claim acknowledged and then lost in a power cut would hand its epoch out twice: FULL. */
// busy_timeout comes first: switching to WAL may itself meet a lock (another connection to the
// file closing or checkpointing) and must wait for it rather than fail the open.
export const CLAIMS_PRAGMAS = [`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`, "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"];
