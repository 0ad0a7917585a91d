// A gRPC deadline (grpc-timeout) checked before connect-es sees the call: connect-es arms its
// deadline timer with the parsed value before refusing one over its maximum, and a value over
// 2^31-1 ms ("99999999H") made Node print a TimeoutOverflowWarning and fire the timer at once.
import { ConnectError } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { CALL_TIMEOUT_MAX_MS } from "../rpc-limits.ts";

/** The deadline in ms (null if none), or the refusal of a malformed or too long one, naming the header. */
export function grpcTimeoutOf(text: string | undefined): number | null | ConnectError {
  const parsed = parseTimeout(text ?? null, CALL_TIMEOUT_MAX_MS);
  if (parsed.error !== undefined) return new ConnectError(`grpc-timeout: ${parsed.error.rawMessage}`, parsed.error.code);
  return parsed.timeoutMs ?? null;
}

/** The refusal of a malformed or too long grpc-timeout, or null if it is absent or fine. */
export function grpcTimeoutRefusal(text: string | undefined): ConnectError | null {
  return parseTimeout(text ?? null, CALL_TIMEOUT_MAX_MS).error ?? null;
}
