// One Connect unary call as our own paths see it (the balancer's public unary methods, the
// node's Execute): the request's method, path and headers, its body, and one answer. Over
// HTTP/1.1 it wraps node:http's request and response; over HTTP/2 the server stream itself
// (the compatibility request and response objects cost ~15 µs of CPU a call on top, which on
// the balancer is paid for every order).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Connection } from "../connection-context.ts";
import { constants as http2Constants, type IncomingHttpHeaders as Http2Headers, type ServerHttp2Stream } from "node:http2";
import { gzip } from "node:zlib";
import { ConnectError } from "@connectrpc/connect";
import { contentTypeUnaryJson, contentTypeUnaryProto } from "@connectrpc/connect/protocol-connect";
import { acceptsGzip } from "../protocol/compression.ts";
import { headerValue } from "../protocol/header-value.ts";
import { COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX } from "../rpc-limits.ts";
import { refusalAnswerOf, type HttpOverride } from "../refusal-answer.ts";
import { errorAnswerOf } from "./error-answer.ts";
import { httpDate } from "./http-date.ts";

export type { HttpOverride };

/** One unary call as a path sees it; the path must either answer it or leave it untouched. */
export interface UnaryExchange {
  readonly method: string | undefined;
  /** The request target: path and query. */
  readonly path: string | undefined;
  readonly headers: IncomingHttpHeaders | Http2Headers;
  /** The connection the call came on (for limits kept per connection owner). */
  readonly connection: Connection | undefined;
  /** The whole body as sent (still compressed if it was), or null if it is larger than MESSAGE_BYTES_MAX. */
  readBody(done: (body: Buffer | null) => void): void;
  /**
   * The answer: a message (JSON text or binary) or an error as Connect's JSON error body. It is
   * gzipped when the client accepts gzip and it has COMPRESS_MIN_BYTES or more.
   */
  reply(json: boolean, result: Uint8Array | string | ConnectError, http?: HttpOverride): void;
  /** Refuses the call in the protocol its content type names (gRPC, gRPC-web or Connect): see refusal-answer.ts. */
  refuse(error: ConnectError, http?: HttpOverride): void;
}

type Head = Record<string, string | number>;

export function http1Exchange(request: IncomingMessage, response: ServerResponse): UnaryExchange {
  let bodyTooLarge = false;
  return {
    method: request.method,
    path: request.url,
    headers: request.headers,
    connection: request.socket,
    readBody: (done) =>
      readBody(request, request.headers, (body) => {
        bodyTooLarge = body === null;
        done(body);
      }),
    reply(json, result, http) {
      answerOf(request.headers, json, result, http, (status, headers, body) => {
        if (response.writableEnded || response.destroyed) return;
        // The rest of an oversize body may still be coming: the connection cannot be
        // used again, so it closes once the answer is out.
        if (bodyTooLarge) headers["connection"] = "close";
        response.writeHead(status, headers);
        response.end(body);
      });
    },
    refuse(error, http) {
      if (response.writableEnded || response.destroyed) return;
      const answer = refusalAnswerOf(request.headers, error, http);
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
    },
  };
}

export function http2Exchange(stream: ServerHttp2Stream, headers: Http2Headers): UnaryExchange {
  let bodyTooLarge = false;
  return {
    method: headers[":method"],
    path: headers[":path"],
    headers,
    connection: stream.session,
    readBody: (done) =>
      readBody(stream, headers, (body) => {
        bodyTooLarge = body === null;
        done(body);
      }),
    reply(json, result, http) {
      answerOf(headers, json, result, http, (status, head, body) => {
        if (stream.destroyed || stream.closed || stream.headersSent) return;
        stream.respond({ ":status": status, ...head, date: httpDate() });
        // An oversize body is not read to its end: once the answer is out, RST_STREAM with
        // NO_ERROR tells the client to stop sending (RFC 9113 §8.1).
        if (bodyTooLarge) stream.end(body, () => stream.close(http2Constants.NGHTTP2_NO_ERROR));
        else stream.end(body);
      });
    },
    refuse(error, http) {
      if (stream.destroyed || stream.closed || stream.headersSent) return;
      const answer = refusalAnswerOf(headers, error, http);
      stream.respond({ ":status": answer.status, ...answer.headers, date: httpDate() });
      stream.end(answer.body);
    },
  };
}

/**
 * A body larger than MESSAGE_BYTES_MAX (by its content-length, or once that many bytes have
 * come) is refused at once, done(null), not when the client finishes sending it: what comes
 * after is read and dropped, never kept. Also keeps a client that resets its stream from
 * becoming an unhandled 'error' that ends the process.
 */
function readBody(source: IncomingMessage | ServerHttp2Stream, headers: IncomingHttpHeaders | Http2Headers, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let refused = false;
  const refuse = () => {
    refused = true;
    chunks.length = 0;
    done(null);
  };
  source.on("error", () => undefined);
  const declared = Number(headerValue(headers["content-length"]) ?? NaN);
  if (declared > MESSAGE_BYTES_MAX) {
    refuse();
    source.resume();
    return;
  }
  source.on("data", (chunk: Buffer) => {
    if (refused) return;
    length += chunk.length;
    if (length > MESSAGE_BYTES_MAX) refuse();
    else chunks.push(chunk);
  });
  source.on("end", () => {
    if (!refused) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  });
}

function answerOf(
  request: IncomingHttpHeaders | Http2Headers,
  json: boolean,
  result: Uint8Array | string | ConnectError,
  http: HttpOverride | undefined,
  send: (status: number, headers: Head, body: Uint8Array) => void,
): void {
  let status = 200;
  let body: Uint8Array;
  let contentType = json ? contentTypeUnaryJson : contentTypeUnaryProto;
  if (result instanceof ConnectError) {
    const answer = errorAnswerOf(result, http?.status);
    ({ status, body } = answer);
    contentType = contentTypeUnaryJson;
  } else {
    body = typeof result === "string" ? Buffer.from(result, "utf8") : result;
  }
  const headers: Head = { "content-type": contentType, ...http?.headers };
  if (body.byteLength < COMPRESS_MIN_BYTES || !acceptsGzip(request["accept-encoding"])) {
    headers["content-length"] = body.byteLength;
    send(status, headers, body);
    return;
  }
  gzip(body, (error, compressed) => {
    // gzip of bytes in memory fails only for want of memory: then the answer goes as it is.
    if (error === null) {
      headers["content-encoding"] = "gzip";
      body = compressed;
    }
    headers["content-length"] = body.byteLength;
    send(status, headers, body);
  });
}
