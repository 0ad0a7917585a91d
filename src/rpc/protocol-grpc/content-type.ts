// Which protocol a request speaks, by its content type, for answers given before connect-es or
// our own paths see it (an unknown method, a refused deadline): gRPC and gRPC-web carry their
// status in header fields, everything else is answered as Connect.
export type ProtocolFamily = "grpc" | "grpc-web" | "connect";

export function protocolFamilyOf(contentType: string | undefined): ProtocolFamily {
  if (contentType === undefined || !contentType.startsWith("application/grpc")) return "connect";
  return contentType.startsWith("application/grpc-web") ? "grpc-web" : "grpc";
}
