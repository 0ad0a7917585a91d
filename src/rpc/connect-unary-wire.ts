// The Connect protocol's unary wire format, for the lean paths that answer calls without
// connect-es (the balancer's public unary methods, the node's Execute).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { MESSAGE_BYTES_MAX } from "./serve.ts";

export type UnaryRequest = IncomingMessage | Http2ServerRequest;
export type UnaryResponse = ServerResponse | Http2ServerResponse;

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

export function readBody(request: UnaryRequest, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let tooLarge = false;
  request.on("data", (chunk: Buffer) => {
    length += chunk.length;
    if (length > MESSAGE_BYTES_MAX) tooLarge = true;
    else chunks.push(chunk);
  });
  request.on("end", () => done(tooLarge ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
  request.on("error", () => undefined);
}

export function reply(response: UnaryResponse, json: boolean, result: Uint8Array | string | ConnectError): void {
  if (response.writableEnded || response.destroyed) return;
  if (result instanceof ConnectError) {
    const body = JSON.stringify({ code: codeName(result.code), message: result.rawMessage });
    (response as ServerResponse).writeHead(HTTP_STATUS[result.code], { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  const bytes = typeof result === "string" ? Buffer.from(result, "utf8") : result;
  (response as ServerResponse).writeHead(200, { "content-type": json ? "application/json" : "application/proto", "content-length": bytes.byteLength });
  response.end(bytes);
}

/** "invalid_argument" for Code.InvalidArgument: the Connect protocol's names. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
