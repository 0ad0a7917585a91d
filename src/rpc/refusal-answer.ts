// A call refused before any handler runs (no such method, an HTTP method or content type the
// method does not take, a deadline out of range), answered in the protocol the client speaks:
// gRPC and gRPC-web get their status fields in a trailers-only answer, everyone else Connect's
// JSON error body, so that no error answer is ever an empty body.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { contentTypeUnaryJson } from "@connectrpc/connect/protocol-connect";
import { errorAnswerOf } from "./protocol-connect/error-answer.ts";
import type { HttpOverride } from "./protocol-connect/unary-exchange.ts";
import { protocolFamilyOf } from "./protocol-grpc/content-type.ts";
import { grpcStatusFields } from "./protocol-grpc/status-fields.ts";

/** What node:http's and node:http2's compatibility responses have in common. */
export interface NodeResponse {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(body: Uint8Array): unknown;
}

const EMPTY = new Uint8Array(0);

export function answerRefusal(request: IncomingHttpHeaders, response: NodeResponse, error: ConnectError, http?: HttpOverride): void {
  const family = protocolFamilyOf(request["content-type"]);
  if (family !== "connect") {
    // gRPC answers every call with HTTP 200; the status is in the fields.
    const contentType = family === "grpc" ? "application/grpc" : "application/grpc-web+proto";
    response.writeHead(200, { "content-type": contentType, ...grpcStatusFields(error) });
    response.end(EMPTY);
    return;
  }
  const answer = errorAnswerOf(error, http?.status);
  response.writeHead(answer.status, { "content-type": contentTypeUnaryJson, "content-length": answer.body.byteLength, ...http?.headers });
  response.end(answer.body);
}
