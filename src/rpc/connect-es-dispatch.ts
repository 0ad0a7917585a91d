// The calls connect-es serves (gRPC and gRPC-web, Connect streaming, Health), found by path as
// connect-es's own node adapter finds them, with what its adapter answers with an empty body
// answered here in the client's protocol instead (404 no such method, 405, 415), and deadlines
// checked before connect-es arms a timer with them.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { connectTimeoutOf } from "./protocol-connect/timeout.ts";
import { protocolFamilyOf } from "./protocol-grpc/content-type.ts";
import { grpcTimeoutRefusal } from "./protocol-grpc/timeout.ts";
import { headerValue } from "./protocol/header-value.ts";
import { refusalAnswerOf, type HttpOverride } from "./refusal-answer.ts";
import type { Logger } from "./logger.ts";
import { CONNECTION, connectionOf } from "./connection-context.ts";

// connect-es reads JSON text with a TextDecoder that puts U+FFFD where the bytes are not UTF-8, so
// an id could silently name another account; a fatal one makes them INVALID_ARGUMENT, as on our
// own paths (found by test/fuzz). connect-es takes the decoder in jsonOptions, untyped there.
const STRICT_JSON_TEXT: { textDecoder: { decode(input?: Uint8Array): string } } = { textDecoder: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }) };
/** The Connect protocol version this server speaks, as a header (POST) and as a query parameter (GET). */
const CONNECT_VERSION_HEADER = "1";
const CONNECT_VERSION_QUERY = "v1";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

export function connectEsDispatch(
  options: ConnectRouterOptions,
  routes: (router: ConnectRouter) => void,
  logger: Logger | undefined,
): (request: NodeRequest, response: NodeResponse) => void {
  const router = createConnectRouter({ ...options, jsonOptions: { ...options.jsonOptions, ...STRICT_JSON_TEXT } });
  routes(router);
  const byPath = new Map<string, UniversalHandler>(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const path = (request.url ?? "").split("?", 1)[0] ?? "";
    const handler = byPath.get(path);
    const refusal = handler === undefined ? unknownMethod(path) : refusalOf(handler, request);
    if (refusal !== null) {
      const answer = refusalAnswerOf(request.headers, refusal.error, refusal.http);
      (response as http.ServerResponse).writeHead(answer.status, answer.headers).end(answer.body);
      return;
    }
    const found = handler as UniversalHandler;
    // The socket, for limits kept per connection owner (rpc/connection-context.ts).
    const contextValues = createContextValues().set(CONNECTION, connectionOf(request));
    found(universalRequestFromNodeRequest(request, response, undefined, contextValues))
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        // A client that went away mid-answer; anything else is a bug in a handler.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logger?.error("rpc handler failed", { method: `${found.service.typeName}/${found.method.name}`, error: reason });
      });
  };
}

interface Refusal {
  error: ConnectError;
  http?: HttpOverride;
}

function unknownMethod(path: string): Refusal {
  return { error: new ConnectError(`${path}: no such method on this server`, Code.Unimplemented), http: { status: 404 } };
}

function refusalOf(handler: UniversalHandler, request: NodeRequest): Refusal | null {
  const method = request.method ?? "";
  if (!handler.allowedMethods.includes(method)) {
    const allow = handler.allowedMethods.join(", ");
    return { error: new ConnectError(`HTTP method ${method} is not allowed for ${handler.requestPath}; use ${allow}`, Code.Unimplemented), http: { status: 405, headers: { allow } } };
  }
  const contentType = request.headers["content-type"];
  // A GET carries no body, so no content type (Connect's unary GET).
  if (method !== "GET" && !handler.supportedContentType(contentType ?? null)) {
    const error = new ConnectError(`content-type: ${JSON.stringify(contentType ?? "")} is not served for ${handler.requestPath} (protocols: ${handler.protocolNames.join(", ")})`, Code.InvalidArgument);
    return { error, http: { status: 415 } };
  }
  const family = protocolFamilyOf(contentType);
  const version = connectVersionRefusal(request, method, family);
  if (version !== null) return { error: version };
  const timeout = family === "connect" || family === "connect-stream" ? connectTimeoutOf(headerValue(request.headers["connect-timeout-ms"])) : grpcTimeoutRefusal(headerValue(request.headers["grpc-timeout"]));
  return timeout instanceof ConnectError ? { error: timeout } : null;
}

/**
 * connect-es checks the Connect protocol version only when it requires it (we do not, so that
 * plain curl works) and then took any version; our own Connect path refuses a version other than
 * 1, and so must every Connect call on the port (found by test/fuzz).
 */
function connectVersionRefusal(request: NodeRequest, method: string, family: string): ConnectError | null {
  if (method === "GET") {
    const url = request.url ?? "";
    const version = new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : "").get("connect");
    if (version === null || version === CONNECT_VERSION_QUERY) return null;
    return new ConnectError(`connect: query parameter must be "${CONNECT_VERSION_QUERY}", got ${JSON.stringify(version)}`, Code.InvalidArgument);
  }
  if (family !== "connect" && family !== "connect-stream") return null;
  const version = headerValue(request.headers["connect-protocol-version"]);
  if (version === undefined || version === CONNECT_VERSION_HEADER) return null;
  return new ConnectError(`connect-protocol-version: must be "${CONNECT_VERSION_HEADER}", got ${JSON.stringify(version)}`, Code.InvalidArgument);
}
