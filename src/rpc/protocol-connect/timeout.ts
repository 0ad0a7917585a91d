// A Connect deadline (connect-timeout-ms) checked before connect-es sees the call, for the same
// reason as protocol-grpc/timeout.ts: ten digits of milliseconds overflow Node's timers.
import { ConnectError } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-connect";
import { CALL_TIMEOUT_MAX_MS } from "../rpc-limits.ts";

/** The deadline in ms (null if none), or the refusal of a malformed or too long one, naming the header. */
export function connectTimeoutOf(text: string | undefined): number | null | ConnectError {
  const parsed = parseTimeout(text ?? null, CALL_TIMEOUT_MAX_MS);
  if (parsed.error !== undefined) return new ConnectError(`connect-timeout-ms: ${parsed.error.rawMessage}`, parsed.error.code);
  return parsed.timeoutMs ?? null;
}
