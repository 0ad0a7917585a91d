// The bounds every protocol path of the one port shares, so that connect-es and our own paths
// refuse and answer a call alike.

// Orders and batches are small; 4 MiB leaves room for a large ListOrders page while a
// malformed or hostile message is refused before it is buffered.
export const MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
// The longest deadline a client may ask for; longer would outlive any sane call (and Node's
// timers take at most 2^31-1 ms: a longer one fires at once, with a TimeoutOverflowWarning).
export const CALL_TIMEOUT_MAX_MS = 60_000;
/** Answers smaller than this are never compressed, however the client asks. */
export const COMPRESS_MIN_BYTES = 1024;
