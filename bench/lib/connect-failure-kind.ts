// How a load generator's failed call failed, for the report of a run past saturation: the
// Connect code the system answered with, wherever the client put it (connect-es's ConnectError,
// the lean client's "HTTP 504: {"code":"deadline_exceeded",…}", a SubmitOrders refusal's
// "unavailable: …"), so that a run that timed out reads apart from one that was refused.
import { Code, ConnectError } from "@connectrpc/connect";

/** The codes a system past saturation answers with: its own deadline, or a refusal. */
const CODES_BY_HTTP_STATUS: Readonly<Record<string, string>> = { "504": "deadline_exceeded", "503": "unavailable", "429": "resource_exhausted" };

/** deadline_exceeded, unavailable, … (Connect's names), or "no answer" when no code came back. */
export function connectFailureKind(error: unknown): string {
  if (error instanceof ConnectError) return codeName(error.code);
  const text = error instanceof Error ? error.message : String(error);
  const named = /\b(canceled|unknown|invalid_argument|deadline_exceeded|not_found|already_exists|permission_denied|resource_exhausted|failed_precondition|aborted|out_of_range|unimplemented|internal|unavailable|data_loss|unauthenticated)\b/.exec(text);
  if (named !== null) return named[1] as string;
  const status = /\bHTTP (\d{3})\b/.exec(text);
  return (status !== null ? CODES_BY_HTTP_STATUS[status[1] as string] : undefined) ?? "no answer";
}

function codeName(code: Code): string {
  // Code.DeadlineExceeded → "deadline_exceeded", as Connect writes it on the wire.
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (letter, at: number) => (at === 0 ? "" : "_") + letter.toLowerCase());
}
