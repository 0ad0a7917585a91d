// The Connect protocol's unary wire format, for the lean paths that answer calls without
// connect-es (the balancer's public unary methods, the node's Execute). One exchange is a
// request and its answer, over HTTP/1.1 (node:http's request and response) or HTTP/2 (the
// server stream itself: Bun's compatibility request and response objects cost ~15 µs of CPU a
// call on top, which on the balancer is paid for every order).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { MESSAGE_BYTES_MAX } from "./serve.ts";

/** One unary call as a lean path sees it; it must either answer it or leave it untouched. */
export interface UnaryExchange {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: IncomingHttpHeaders | Http2Headers;
  /** The whole body, or null if it is larger than MESSAGE_BYTES_MAX. */
  readBody(done: (body: Buffer | null) => void): void;
  reply(json: boolean, result: Uint8Array | string | ConnectError): void;
}

/** HTTP status for each Connect code, as the Connect protocol specifies. */
export const HTTP_STATUS: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

export function http1Exchange(request: IncomingMessage, response: ServerResponse): UnaryExchange {
  return {
    method: request.method,
    path: request.url,
    headers: request.headers,
    readBody: (done) => readBody(request, done),
    reply(json, result) {
      if (response.writableEnded || response.destroyed) return;
      const { status, headers, body } = answerOf(json, result);
      response.writeHead(status, headers);
      response.end(body);
    },
  };
}

export function http2Exchange(stream: ServerHttp2Stream, headers: Http2Headers): UnaryExchange {
  return {
    method: headers[":method"],
    path: headers[":path"],
    headers,
    readBody: (done) => readBody(stream, done),
    reply(json, result) {
      if (stream.destroyed || stream.closed || stream.headersSent) return;
      const answer = answerOf(json, result);
      // The date header as Node's compatibility response sends it, so that nothing on the wire changes.
      stream.respond({ ":status": answer.status, ...answer.headers, date: httpDate() });
      stream.end(answer.body);
    },
  };
}

/** Also keeps a client that resets its stream from becoming an unhandled 'error' that ends the process. */
function readBody(source: IncomingMessage | ServerHttp2Stream, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let tooLarge = false;
  source.on("data", (chunk: Buffer) => {
    length += chunk.length;
    if (length > MESSAGE_BYTES_MAX) tooLarge = true;
    else chunks.push(chunk);
  });
  source.on("end", () => done(tooLarge ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
  source.on("error", () => undefined);
}

function answerOf(json: boolean, result: Uint8Array | string | ConnectError): { status: number; headers: Record<string, string | number>; body: Uint8Array | string } {
  if (result instanceof ConnectError) {
    const body = JSON.stringify({ code: codeName(result.code), message: result.rawMessage });
    return { status: HTTP_STATUS[result.code], headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, body };
  }
  const bytes = typeof result === "string" ? Buffer.from(result, "utf8") : result;
  return { status: 200, headers: { "content-type": json ? "application/json" : "application/proto", "content-length": bytes.byteLength }, body: bytes };
}

let dateSecond = -1;
let dateText = "";
/** The HTTP date, formatted once a second rather than once a call. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** "invalid_argument" for Code.InvalidArgument: the Connect protocol's names. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
