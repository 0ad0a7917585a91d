// gRPC's status fields (grpc-status, grpc-message, grpc-status-details-bin), written by
// connect-es's setTrailerStatus: grpc-message percent-encoded as the spec says (patches/
// @connectrpc%2Fconnect@2.2.0.patch), the same for our own streams as for connect-es's.
import type { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/**
 * The status of a call that ended with `error`, or OK for null, as header fields, with the
 * error's metadata (a rate limit's retry-after) as connect-es's gRPC handler writes it.
 */
export function grpcStatusFields(error: ConnectError | null): Record<string, string> {
  const fields: Record<string, string> = {};
  setTrailerStatus(new Headers(error?.metadata), error ?? undefined).forEach((value, name) => (fields[name] = value));
  return fields;
}
