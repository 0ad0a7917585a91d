// Which protocol a request speaks, by its content type, for answers given before connect-es or
// our own paths see it (an unknown method, a refused deadline): gRPC and gRPC-web carry their
// status in header fields, Connect streaming in its end-of-stream message, everything else is
// answered as Connect unary.
export type ProtocolFamily = "grpc" | "grpc-web" | "connect-stream" | "connect";

export function protocolFamilyOf(contentType: string | undefined): ProtocolFamily {
  if (contentType === undefined) return "connect";
  if (contentType.startsWith("application/connect+")) return "connect-stream";
  if (!contentType.startsWith("application/grpc")) return "connect";
  return contentType.startsWith("application/grpc-web") ? "grpc-web" : "grpc";
}
