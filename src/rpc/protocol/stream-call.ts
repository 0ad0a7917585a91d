// How a streaming call on HTTP/2 speaks, read from its request headers: gRPC or Connect
// streaming, binary or JSON, gzip or not each way, and its deadline. Our stream paths take
// every such call (anything in these headers that breaks the protocol is refused here, naming
// the header); gRPC-web and what is not a stream content type stay with connect-es.
import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseContentType as parseConnectContentType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { connectTimeoutOf } from "../protocol-connect/timeout.ts";
import { grpcTimeoutOf } from "../protocol-grpc/timeout.ts";
import { acceptsGzip, compressionOf } from "./compression.ts";
import { headerValue } from "./header-value.ts";

export interface StreamWire {
  protocol: "grpc" | "connect";
  /** Messages are JSON (application/grpc+json, application/connect+json), else binary. */
  json: boolean;
  /** The client's messages may be gzipped (flag 1 of their envelopes). */
  gzipRequests: boolean;
  /** The client accepts gzip: answers of COMPRESS_MIN_BYTES or more are compressed. */
  gzipAnswers: boolean;
  /** The client's deadline, if it gave one. */
  timeoutMs: number | null;
}

const PROTOCOL_VERSION = "1";

/** Headers that break the protocol: the refusal, and the wire to answer it in (the client's protocol and codec, plain, no deadline). */
export interface StreamRefusal {
  readonly refusal: ConnectError;
  readonly wire: StreamWire;
}

/**
 * The wire of a gRPC or Connect streaming request, the refusal of its headers, or null for a
 * request of another protocol (gRPC-web, unary content types), which is not ours to answer.
 */
export function streamWireOf(headers: IncomingHttpHeaders): StreamWire | StreamRefusal | null {
  if (headers[":method"] !== "POST") return null;
  const contentType = headerValue(headers["content-type"]) ?? null;
  const grpcType = parseGrpcContentType(contentType);
  const connectType = grpcType === undefined ? parseConnectContentType(contentType) : undefined;
  if (grpcType === undefined && (connectType === undefined || !connectType.stream)) return null;
  const grpc = grpcType !== undefined;
  const plain: StreamWire = {
    protocol: grpc ? "grpc" : "connect",
    json: grpc ? !(grpcType?.binary ?? true) : !(connectType?.binary ?? true),
    gzipRequests: false,
    gzipAnswers: false,
    timeoutMs: null,
  };
  if (!grpc) {
    const version = headerValue(headers["connect-protocol-version"]);
    if (version !== undefined && version !== PROTOCOL_VERSION) {
      return { refusal: new ConnectError(`connect-protocol-version: must be "${PROTOCOL_VERSION}", got ${JSON.stringify(version)}`, Code.InvalidArgument), wire: plain };
    }
  }
  const encodingHeader = grpc ? "grpc-encoding" : "connect-content-encoding";
  const compression = compressionOf(encodingHeader, headerValue(headers[encodingHeader]));
  if (compression instanceof ConnectError) return { refusal: compression, wire: plain };
  const timeoutMs = grpc ? grpcTimeoutOf(headerValue(headers["grpc-timeout"])) : connectTimeoutOf(headerValue(headers["connect-timeout-ms"]));
  if (timeoutMs instanceof ConnectError) return { refusal: timeoutMs, wire: plain };
  return {
    ...plain,
    gzipRequests: compression === "gzip",
    gzipAnswers: acceptsGzip(headers[grpc ? "grpc-accept-encoding" : "connect-accept-encoding"]),
    timeoutMs,
  };
}
