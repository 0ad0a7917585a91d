// A call refused before any handler runs (no such method, an HTTP method or content type the
// method does not take, a deadline out of range, a stream on a transport that cannot carry it),
// answered in the protocol the client speaks: gRPC and gRPC-web get their status fields in a
// trailers-only answer, Connect streaming an end-of-stream message holding the error, Connect
// unary (and anything else) the JSON error body, so that no error answer is ever an empty body.
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { contentTypeUnaryJson, endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { ENVELOPE_HEADER_BYTES } from "./protocol/envelope-reader.ts";
import { errorAnswerOf } from "./protocol-connect/error-answer.ts";
import { protocolFamilyOf } from "./protocol-grpc/content-type.ts";
import { grpcStatusFields } from "./protocol-grpc/status-fields.ts";

/** An answer's HTTP status and extra headers when they are not the Connect code's (405's Allow). */
export interface HttpOverride {
  status: number;
  headers?: Record<string, string>;
}

export interface RefusalAnswer {
  status: number;
  headers: Record<string, string | number>;
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export function refusalAnswerOf(request: IncomingHttpHeaders, error: ConnectError, http?: HttpOverride): RefusalAnswer {
  const family = protocolFamilyOf(request["content-type"]);
  if (family === "grpc" || family === "grpc-web") {
    // gRPC answers every call with HTTP 200; the status is in the fields.
    const contentType = family === "grpc" ? "application/grpc" : "application/grpc-web+proto";
    return { status: 200, headers: { "content-type": contentType, ...grpcStatusFields(error) }, body: EMPTY };
  }
  if (family === "connect-stream") {
    // A Connect streaming client reads its error from the end of the stream, after HTTP 200.
    const json = Buffer.from(JSON.stringify(endStreamToJson(new Headers(), error, {})), "utf8");
    const body = Buffer.alloc(ENVELOPE_HEADER_BYTES + json.length);
    body[0] = endStreamFlag;
    body.writeUInt32BE(json.length, 1);
    body.set(json, ENVELOPE_HEADER_BYTES);
    const subtype = request["content-type"]?.includes("json") === true ? "json" : "proto";
    return { status: 200, headers: { "content-type": `application/connect+${subtype}`, "content-length": body.length }, body };
  }
  const answer = errorAnswerOf(error, http?.status);
  return { status: answer.status, headers: { "content-type": contentTypeUnaryJson, "content-length": answer.body.byteLength, ...http?.headers }, body: answer.body };
}
