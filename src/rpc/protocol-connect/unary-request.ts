// What a Connect unary request asks for, read from its headers (POST) or its query (GET, for
// methods marked NO_SIDE_EFFECTS), and its message, decompressed. Every way a request can
// break the protocol is refused here with the error that names the header or parameter:
// a content type that is not Connect unary (415), an HTTP method the call does not take (405),
// a protocol version other than 1, a malformed or too long deadline, an unknown compression.
import { gunzip } from "node:zlib";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseContentType } from "@connectrpc/connect/protocol-connect";
import { compressionOf } from "../protocol/compression.ts";
import { headerValue } from "../protocol/header-value.ts";
import { MESSAGE_BYTES_MAX } from "../rpc-limits.ts";
import { connectTimeoutOf } from "./timeout.ts";
import type { HttpOverride } from "../refusal-answer.ts";
import type { UnaryExchange } from "./unary-exchange.ts";

/** A request the protocol allows; its message is still to be read. */
export interface ConnectUnaryCall {
  json: boolean;
  /** The client's deadline in ms, if it gave one (≤ CALL_TIMEOUT_MAX_MS; 0 is already past). */
  timeoutMs: number | null;
  /** The message's bytes, decompressed, or the error that refuses them. */
  readMessage(done: (message: Uint8Array | ConnectError) => void): void;
}

/** A request refused before its message is read: answer with reply(true, error, http). */
export interface UnaryRefusal {
  error: ConnectError;
  http?: HttpOverride;
}

const PROTOCOL_VERSION = "1";
const GET_PROTOCOL_VERSION = "v1";

export function connectUnaryCallOf(exchange: UnaryExchange, getAllowed: boolean): ConnectUnaryCall | UnaryRefusal {
  const allow = getAllowed ? "GET, POST" : "POST";
  if (exchange.method === "GET" && getAllowed) return getCallOf(exchange);
  if (exchange.method !== "POST") {
    const error = new ConnectError(`HTTP method ${String(exchange.method)} is not allowed for ${exchange.path ?? ""}; use ${allow}`, Code.Unimplemented);
    return { error, http: { status: 405, headers: { allow } } };
  }
  const headers = exchange.headers;
  const contentType = headerValue(headers["content-type"]);
  const type = parseContentType(contentType ?? null);
  if (type === undefined || type.stream) {
    const error = new ConnectError(`content-type: ${JSON.stringify(contentType ?? "")} is not a Connect unary type; use application/json or application/proto`, Code.InvalidArgument);
    return { error, http: { status: 415 } };
  }
  const version = headerValue(headers["connect-protocol-version"]);
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return { error: new ConnectError(`connect-protocol-version: must be "${PROTOCOL_VERSION}", got ${JSON.stringify(version)}`, Code.InvalidArgument) };
  }
  const timeout = connectTimeoutOf(headerValue(headers["connect-timeout-ms"]));
  if (timeout instanceof ConnectError) return { error: timeout };
  const compression = compressionOf("content-encoding", headerValue(headers["content-encoding"]));
  if (compression instanceof ConnectError) return { error: compression };
  return {
    json: !type.binary,
    timeoutMs: timeout,
    readMessage: (done) =>
      exchange.readBody((body) => {
        if (body === null) done(new ConnectError(`message is larger than ${MESSAGE_BYTES_MAX} bytes`, Code.ResourceExhausted));
        else if (compression === null) done(body);
        else inflate(body, done);
      }),
  };
}

/** GET: the message and its encoding are query parameters (connectrpc.com/docs/protocol#unary-get-request). */
function getCallOf(exchange: UnaryExchange): ConnectUnaryCall | UnaryRefusal {
  const path = exchange.path ?? "";
  const query = new URLSearchParams(path.includes("?") ? path.slice(path.indexOf("?") + 1) : "");
  const encoding = query.get("encoding");
  if (encoding !== "json" && encoding !== "proto") {
    const error = new ConnectError(`encoding: query parameter must be "json" or "proto", got ${JSON.stringify(encoding ?? "")}`, Code.InvalidArgument);
    return { error, http: { status: 415 } };
  }
  const version = query.get("connect");
  if (version !== null && version !== GET_PROTOCOL_VERSION) {
    return { error: new ConnectError(`connect: query parameter must be "${GET_PROTOCOL_VERSION}", got ${JSON.stringify(version)}`, Code.InvalidArgument) };
  }
  const timeout = connectTimeoutOf(headerValue(exchange.headers["connect-timeout-ms"]));
  if (timeout instanceof ConnectError) return { error: timeout };
  const compression = compressionOf("compression", query.get("compression") ?? undefined);
  if (compression instanceof ConnectError) return { error: compression };
  const text = query.get("message") ?? "";
  let message: Uint8Array;
  try {
    message = query.get("base64") === "1" ? base64Decode(text) : Buffer.from(text, "utf8");
  } catch (error) {
    return { error: new ConnectError(`message: query parameter is not base64: ${String(error)}`, Code.InvalidArgument) };
  }
  if (message.length > MESSAGE_BYTES_MAX) return { error: new ConnectError(`message is larger than ${MESSAGE_BYTES_MAX} bytes`, Code.ResourceExhausted) };
  return {
    json: encoding === "json",
    timeoutMs: timeout,
    // The body of a GET is empty; reading it still drains the request.
    readMessage: (done) => exchange.readBody(() => (compression === null ? done(message) : inflate(message, done))),
  };
}

function inflate(compressed: Uint8Array, done: (message: Uint8Array | ConnectError) => void): void {
  gunzip(compressed, { maxOutputLength: MESSAGE_BYTES_MAX }, (error, message) => {
    if (error === null) done(message);
    else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") done(new ConnectError(`message is larger than ${MESSAGE_BYTES_MAX} bytes once decompressed`, Code.ResourceExhausted));
    else done(new ConnectError(`message: cannot decompress gzip: ${error.message}`, Code.InvalidArgument));
  });
}
