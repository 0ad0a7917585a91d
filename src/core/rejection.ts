// A rejection is an expected outcome, not a bug: the caller must turn it into a clear error.
// The codes are the gRPC/Connect codes that each maps to.

export type RejectionCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  /** Not the client's fault: the node cannot serve right now (try again, maybe elsewhere). */
  | "unavailable"
  /** The caller's deadline passed before the command's turn came: it was not decided, nothing changed. */
  | "deadline_exceeded";

export interface Rejection {
  code: RejectionCode;
  /** Names the field at fault first, e.g. "qty: must be positive". */
  message: string;
}

export function reject(code: RejectionCode, message: string): Rejection {
  return { code, message };
}
