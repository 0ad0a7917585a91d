// One TCP port for every protocol a client may speak: Connect (JSON and binary, HTTP/1.1 and
// HTTP/2), gRPC (HTTP/2 cleartext with prior knowledge) and gRPC-web. Bun.serve cannot send
// HTTP trailers, which gRPC needs, so the node:http2 server serves HTTP/2 and node:http the
// rest; a node:net listener reads each connection's first bytes to pick between them.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectEsDispatch } from "./connect-es-dispatch.ts";
import { corsHttp1, corsHttp2, type CorsOrigins } from "./cors.ts";
import { gzipOfClients } from "./protocol/compression.ts";
import type { Logger } from "./logger.ts";
import { withMetricsRoute, type MetricsSource } from "../metrics/metrics-route.ts";
import { http1Exchange, http2Exchange, type UnaryExchange } from "./protocol-connect/unary-exchange.ts";
import { CALL_TIMEOUT_MAX_MS, COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX } from "./rpc-limits.ts";

export { CALL_TIMEOUT_MAX_MS, COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX };

/** Every HTTP/2 client opens with these 24 bytes (RFC 9113 §3.4); no HTTP/1 request can. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// A client that connects and says nothing holds a socket; drop it after this long.
const FIRST_BYTES_TIMEOUT_MS = 10_000;
// An HTTP/1.1 keep-alive socket idles this long before the server closes it.
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
// Bounds one HTTP/2 connection; the balancer batches, so it needs far fewer than this.
const STREAMS_CONCURRENT_MAX = 1_000;
const SESSION_INVALID_FRAMES_MAX = 1_000;
// close() lets in-flight replies finish this long, then destroys what is left.
const CLOSE_GRACE_MS = 1_000;

export interface ServeRpcOptions {
  host: string;
  /** 0 picks a free port; the chosen one is in the result. */
  port: number;
  routes: (router: ConnectRouter) => void;
  logger?: Logger;
  /** Served at GET /metrics (Prometheus text), ahead of connect-es. */
  metrics?: MetricsSource;
  /**
   * Our own unary calls (Connect unary over UnaryExchange), tried before connect-es: it returns
   * true for the calls it answered, which are then the only path for them.
   */
  unaryCalls?: (exchange: UnaryExchange) => boolean;
  /**
   * The same for whole HTTP/2 streams (a streaming call answered frame by frame), tried first.
   * shutdown aborts when close() begins: a stream it took must then end, as connect-es's do.
   */
  http2StreamPath?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, shutdown: AbortSignal) => boolean;
  /** Browsers' cross-origin calls, applied before every other path (see cors.ts). */
  cors?: CorsOrigins;
}

export interface RpcServer {
  port: number;
  /** Connections accepted since start, by protocol; an HTTP/2 connection is one session. */
  connectionCounts(): { http1: number; http2: number };
  /** Stops accepting, ends open streams with UNAVAILABLE, and closes every connection. */
  close(): Promise<void>;
}

export async function serveRpc(options: ServeRpcOptions): Promise<RpcServer> {
  const shutdown = new AbortController();
  const connectEs = connectEsDispatch({
    readMaxBytes: MESSAGE_BYTES_MAX,
    writeMaxBytes: MESSAGE_BYTES_MAX,
    // Brotli costs more CPU than it saves on messages this size; gzip is what clients expect.
    acceptCompression: [gzipOfClients],
    compressMinBytes: COMPRESS_MIN_BYTES,
    maxTimeoutMs: CALL_TIMEOUT_MAX_MS,
    // Plain curl must work, so the Connect-Protocol-Version header stays optional.
    requireConnectProtocolHeader: false,
    shutdownSignal: shutdown.signal,
  }, options.routes, options.logger);
  const handler = options.metrics === undefined ? connectEs : withMetricsRoute(options.metrics, connectEs);
  const unaryCalls = options.unaryCalls;
  const cors = options.cors;
  const http1Handle = (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (cors !== undefined && corsHttp1(cors, request, response)) return;
    if (unaryCalls === undefined || !unaryCalls(http1Exchange(request, response))) handler(request, response);
  };
  const http1Server = http.createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: FIRST_BYTES_TIMEOUT_MS },
    http1Handle,
  );
  // No 'request' handler: that would make the server build compatibility request and response
  // objects for every stream, before our unary calls could be answered from the stream alone.
  const http2Server = http2.createServer({
    settings: { maxConcurrentStreams: STREAMS_CONCURRENT_MAX },
    // The empty-frames flood guard (CVE-2019-9518). Our own node transport never sends
    // empty DATA frames (see transport.ts), so the stock bound can stay.
    maxSessionInvalidFrames: SESSION_INVALID_FRAMES_MAX,
  });
  // A server's streams are ServerHttp2Streams; Node's typings give the event the base type.
  const streamPath = options.http2StreamPath;
  http2Server.on("stream", (stream: http2.ServerHttp2Stream, headers, _flags, rawHeaders) => {
    stream.once("finish", () => stopUpload(stream));
    if (cors !== undefined && corsHttp2(cors, stream, headers)) return;
    if (streamPath !== undefined && streamPath(stream, headers, shutdown.signal)) return;
    if (unaryCalls !== undefined && unaryCalls(http2Exchange(stream, headers))) return;
    compatibilityRequest(stream, headers, rawHeaders, handler);
  });
  const sockets = new Set<net.Socket>();
  const counts = { http1: 0, http2: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    counts.http2 += 1;
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    // A client closing its session (NGHTTP2_CANCEL and the like) lands here too: routine, not a warning.
    session.on("error", (error) => options.logger?.debug("rpc http2 session error", { error }));
  });
  const listener = net.createServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", (error) => options.logger?.debug("rpc connection error", { error }));
    routeByFirstBytes(socket, (isHttp2) => {
      if (!isHttp2) counts.http1 += 1;
      (isHttp2 ? http2Server : http1Server).emit("connection", socket);
    });
  });
  const port = await listen(listener, options.host, options.port);
  options.logger?.debug("rpc serving", { host: options.host, port });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= closeAll(shutdown, listener, { http2Server, http1Server, sessions, sockets });
    return closing;
  };
  return { port, connectionCounts: () => ({ ...counts }), close };
}

/**
 * What node:http2 does for a stream when the server has a 'request' handler (Bun 1.4.5 and
 * Node alike): the compatibility request and response, CONNECT refused (no 'connect'
 * listener), Expect answered as a server without 'checkContinue' listeners does.
 */
function compatibilityRequest(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  handler: (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void,
): void {
  const request = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
  const response = new http2.Http2ServerResponse(stream);
  if (headers[":method"] === "CONNECT") {
    response.statusCode = http2.constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
    response.end();
    return;
  }
  if (headers.expect !== undefined) {
    if (headers.expect !== "100-continue") {
      response.statusCode = http2.constants.HTTP_STATUS_EXPECTATION_FAILED;
      response.end();
      return;
    }
    response.writeContinue();
  }
  handler(request, response);
}

/**
 * An answer complete before its request (a message over the size limit, a deadline, an early
 * end): RST_STREAM(NO_ERROR) asks the client to stop sending (RFC 9113 §8.1). Without it a
 * client still uploading waits on flow control for ever, and its DATA frames after the stream
 * is gone make the server tear down the whole session (ENHANCE_YOUR_CALM), failing every other
 * stream on it. The reset waits a turn so that the trailers go out first.
 */
function stopUpload(stream: http2.ServerHttp2Stream): void {
  if (stream.readableEnded) return;
  setImmediate(() => {
    if (!stream.readableEnded && !stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

/**
 * Reads until the bytes either diverge from the HTTP/2 preface or match all of it, then puts
 * them back so the chosen server parses the connection from its first byte.
 */
function routeByFirstBytes(socket: net.Socket, handOff: (isHttp2: boolean) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, HTTP2_PREFACE.length);
    const isPrefaceSoFar = head.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isPrefaceSoFar && head.length < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(head);
    handOff(isPrefaceSoFar);
    // Node's servers resume a handed-over socket themselves; Bun's do not, and a paused
    // socket would leave the request unread until the client gives up.
    socket.resume();
  };
  socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
  socket.on("data", onData);
}

function listen(listener: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.listen({ host, port }, () => {
      listener.off("error", reject);
      const address = listener.address();
      if (address === null || typeof address === "string") {
        reject(new Error(`rpc: listener on ${host}:${port} has no TCP address`));
        return;
      }
      resolve(address.port);
    });
  });
}

async function closeAll(
  shutdown: AbortController,
  listener: net.Server,
  open: {
    http2Server: http2.Http2Server;
    http1Server: http.Server;
    sessions: Set<http2.ServerHttp2Session>;
    sockets: Set<net.Socket>;
  },
): Promise<void> {
  const { http2Server, http1Server, sessions, sockets } = open;
  const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
  // Aborting ends every handler's context signal, so server streams finish with UNAVAILABLE
  // instead of holding their connection open for ever.
  shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
  http2Server.close();
  // GOAWAY tells HTTP/2 clients to open no new streams here while the last replies drain.
  for (const session of sessions) session.close();
  http1Server.close();
  http1Server.closeIdleConnections();
  const allClosed = Promise.all([...sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve))));
  const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
  await Promise.race([allClosed, grace]);
  for (const socket of sockets) socket.destroy();
  await listenerClosed;
}
