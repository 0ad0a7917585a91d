// How a streaming call on HTTP/2 speaks, read from its request headers: gRPC or Connect
// streaming, binary or JSON, gzip or not each way, and its deadline. Our stream paths take
// every such call (anything in these headers that breaks the protocol is refused here, naming
// the header); gRPC-web and what is not a stream content type stay with connect-es.
import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseContentType as parseConnectContentType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { acceptsGzip } from "../protocol-connect/unary-exchange.ts";
import { connectTimeoutOf } from "../protocol-connect/timeout.ts";
import { grpcTimeoutRefusal } from "../protocol-grpc/timeout.ts";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { CALL_TIMEOUT_MAX_MS } from "../rpc-limits.ts";

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

/**
 * The wire of a gRPC or Connect streaming request, the error that refuses its headers, or null
 * for a request of another protocol (gRPC-web, unary content types), which is not ours to answer.
 */
export function streamWireOf(headers: IncomingHttpHeaders): StreamWire | ConnectError | null {
  if (headers[":method"] !== "POST") return null;
  const contentType = single(headers["content-type"]) ?? null;
  const grpcType = parseGrpcContentType(contentType);
  const connectType = grpcType === undefined ? parseConnectContentType(contentType) : undefined;
  if (grpcType === undefined && (connectType === undefined || !connectType.stream)) return null;
  const grpc = grpcType !== undefined;
  if (!grpc) {
    const version = single(headers["connect-protocol-version"]);
    if (version !== undefined && version !== PROTOCOL_VERSION) {
      return new ConnectError(`connect-protocol-version: must be "${PROTOCOL_VERSION}", got ${JSON.stringify(version)}`, Code.InvalidArgument);
    }
  }
  const encodingHeader = grpc ? "grpc-encoding" : "connect-content-encoding";
  const encoding = single(headers[encodingHeader]);
  if (encoding !== undefined && encoding !== "identity" && encoding !== "gzip") {
    return new ConnectError(`${encodingHeader}: unknown compression ${JSON.stringify(encoding)}; supported encodings are gzip, identity`, Code.Unimplemented);
  }
  const timeoutMs = grpc ? grpcTimeoutMs(single(headers["grpc-timeout"])) : connectTimeoutOf(single(headers["connect-timeout-ms"]));
  if (timeoutMs instanceof ConnectError) return timeoutMs;
  return {
    protocol: grpc ? "grpc" : "connect",
    json: grpc ? !(grpcType?.binary ?? true) : !(connectType?.binary ?? true),
    gzipRequests: encoding === "gzip",
    gzipAnswers: acceptsGzip(headers[grpc ? "grpc-accept-encoding" : "connect-accept-encoding"]),
    timeoutMs,
  };
}

function grpcTimeoutMs(text: string | undefined): number | null | ConnectError {
  const refusal = grpcTimeoutRefusal(text);
  if (refusal !== null) return new ConnectError(`grpc-timeout: ${refusal.rawMessage}`, refusal.code);
  return parseTimeout(text ?? null, CALL_TIMEOUT_MAX_MS).timeoutMs ?? null;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}
