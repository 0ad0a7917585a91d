// One TCP port for every protocol a client may speak: Connect (JSON and binary, HTTP/1.1 and
// HTTP/2), gRPC (HTTP/2 cleartext with prior knowledge) and gRPC-web. Bun.serve cannot send
// HTTP trailers, which gRPC needs, so the node:http2 server serves HTTP/2 and node:http the
// rest; a node:net listener (node:tls, when the port has a certificate) reads each
// connection's first bytes to pick between them.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { IncomingHttpHeaders } from "node:http";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectEsDispatch } from "./connect-es-dispatch.ts";
import { corsHttp1, corsHttp2, type CorsOrigins } from "./cors.ts";
import { gzipOfClients } from "./protocol/compression.ts";
import type { Logger } from "./logger.ts";
import { withMetricsRoute, type MetricsSource } from "../metrics/metrics-route.ts";
import { http1Exchange, http2Exchange, type UnaryExchange } from "./protocol-connect/unary-exchange.ts";
import { CONNECTION_LIMITS_DEFAULT, Http1ConnectionWatch, watchHttp2Session, type ConnectionCloseReason, type ConnectionLimits } from "./connection-limits.ts";
import { refusalAnswerOf } from "./refusal-answer.ts";
import { serverTlsOptions, type ServerTls } from "./tls.ts";
import { CALL_TIMEOUT_MAX_MS, COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX } from "./rpc-limits.ts";

export { CALL_TIMEOUT_MAX_MS, COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX };

/** Every HTTP/2 client opens with these 24 bytes (RFC 9113 §3.4); no HTTP/1 request can. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

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
  /**
   * Who may call, asked before anything else (CORS and /metrics too) with the request's path
   * and headers: a ConnectError refuses the call in the caller's protocol, and nothing else runs.
   */
  admit?: (path: string, headers: IncomingHttpHeaders) => ConnectError | null;
  /** Connection cap, head and idle timeouts (connection-limits.ts); CONNECTION_LIMITS_DEFAULT if absent. */
  limits?: ConnectionLimits;
  /** Told of each connection the limits closed, for /metrics. */
  connectionClosed?: (reason: ConnectionCloseReason) => void;
  /** Certificate and key: the port speaks TLS only. */
  tls?: ServerTls;
}

export interface RpcServer {
  port: number;
  /** Connections accepted since start, by protocol (an HTTP/2 connection is one session), and closed by each limit. */
  connectionCounts(): { http1: number; http2: number; open: number } & Record<ConnectionCloseReason, number>;
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
  const limits = options.limits ?? CONNECTION_LIMITS_DEFAULT;
  const counts = { http1: 0, http2: 0, connections_max: 0, headers_timeout: 0, idle_timeout: 0 };
  const limited = (reason: ConnectionCloseReason): void => {
    counts[reason] += 1;
    options.connectionClosed?.(reason);
  };
  const { unaryCalls, cors, admit } = options;
  const http1Watches = new WeakMap<net.Socket, Http1ConnectionWatch>();
  const http1Handle = (request: http.IncomingMessage, response: http.ServerResponse) => {
    http1Watches.get(request.socket)?.requestStarted((done) => response.once("close", done));
    if (admit !== undefined && refusedHttp1(admit, request, response)) return;
    if (cors !== undefined && corsHttp1(cors, request, response)) return;
    if (unaryCalls === undefined || !unaryCalls(http1Exchange(request, response))) handler(request, response);
  };
  // Its own timeouts off: Http1ConnectionWatch keeps them, the same way on every runtime.
  const http1Server = http.createServer({ keepAliveTimeout: 0, headersTimeout: 0, requestTimeout: 0 }, http1Handle);
  // No 'request' handler: that would make the server build compatibility request and response
  // objects for every stream, before our unary calls could be answered from the stream alone.
  const http2Server = http2.createServer({
    settings: { maxConcurrentStreams: STREAMS_CONCURRENT_MAX },
    // The empty-frames flood guard (CVE-2019-9518). Our own node transport never sends
    // empty DATA frames (see transport.ts), so the stock bound can stay.
    maxSessionInvalidFrames: SESSION_INVALID_FRAMES_MAX,
  });
  const sessions = new Map<http2.ServerHttp2Session, ReturnType<typeof watchHttp2Session>>();
  // A server's streams are ServerHttp2Streams; Node's typings give the event the base type.
  const streamPath = options.http2StreamPath;
  http2Server.on("stream", (stream: http2.ServerHttp2Stream, headers, _flags, rawHeaders) => {
    sessions.get(stream.session as http2.ServerHttp2Session)?.streamOpened(stream);
    stream.once("finish", () => stopUpload(stream));
    if (admit !== undefined && refusedHttp2(admit, stream, headers)) return;
    if (cors !== undefined && corsHttp2(cors, stream, headers)) return;
    if (streamPath !== undefined && streamPath(stream, headers, shutdown.signal)) return;
    if (unaryCalls !== undefined && unaryCalls(http2Exchange(stream, headers))) return;
    compatibilityRequest(stream, headers, rawHeaders, handler);
  });
  http2Server.on("session", (session) => {
    counts.http2 += 1;
    sessions.set(session, watchHttp2Session(session, limits, CLOSE_GRACE_MS, limited));
    session.once("close", () => sessions.delete(session));
    // A client closing its session (NGHTTP2_CANCEL and the like) lands here too: routine, not a warning.
    session.on("error", (error) => options.logger?.debug("rpc http2 session error", { error }));
  });
  const { listener, sockets } = acceptConnections(options, limits, limited, (socket, isHttp2) => {
    if (isHttp2) {
      http2Server.emit("connection", socket);
      return;
    }
    counts.http1 += 1;
    http1Watches.set(socket, new Http1ConnectionWatch(socket, limits, limited));
    http1Server.emit("connection", socket);
  });
  const port = await listen(listener, options.host, options.port);
  options.logger?.debug("rpc serving", { host: options.host, port, tls: options.tls !== undefined });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= closeAll(shutdown, listener, { http2Server, http1Server, sessions: new Set(sessions.keys()), sockets });
    return closing;
  };
  return { port, connectionCounts: () => ({ ...counts, open: sockets.size }), close };
}

/**
 * The port's listener (TLS or not) and its open sockets: past connectionsMax a new socket is
 * closed at once; the rest must show their protocol (after the TLS handshake) within
 * headersTimeoutMs, and are then handed off with it. HTTP/2's preface is whole at hand-off (its
 * session's idle timer takes over); HTTP/1.1's head is not yet (Http1ConnectionWatch's is).
 */
function acceptConnections(
  options: ServeRpcOptions,
  limits: ConnectionLimits,
  limited: (reason: ConnectionCloseReason) => void,
  handOff: (socket: net.Socket, isHttp2: boolean) => void,
): { listener: net.Server; sockets: Set<net.Socket> } {
  const sockets = new Set<net.Socket>();
  // One deadline from the TCP connection to the first bytes' verdict, the TLS handshake included:
  // Bun does not apply tls's handshakeTimeout. Bun's TLS server hands 'secureConnection' the very
  // socket of 'connection', so the map finds it either way.
  const headDeadlines = new WeakMap<net.Socket, ReturnType<typeof setTimeout>>();
  const accept = (socket: net.Socket): void => {
    if (socket.destroyed) return;
    routeByFirstBytes(socket, (isHttp2) => {
      clearTimeout(headDeadlines.get(socket));
      handOff(socket, isHttp2);
    });
  };
  const listener = options.tls === undefined ? net.createServer() : tls.createServer(serverTlsOptions(options.tls));
  // The cap counts TCP connections, before any handshake: a flood of them is what it bounds.
  listener.on("connection", (socket: net.Socket) => {
    if (sockets.size >= limits.connectionsMax) {
      limited("connections_max");
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("error", (error) => options.logger?.debug("rpc connection error", { error }));
    const headDeadline = setTimeout(() => {
      limited("headers_timeout");
      socket.destroy();
    }, limits.headersTimeoutMs);
    headDeadlines.set(socket, headDeadline);
    socket.once("close", () => {
      clearTimeout(headDeadline);
      sockets.delete(socket);
    });
    if (options.tls === undefined) accept(socket);
  });
  listener.on("secureConnection", accept);
  // A failed handshake (no client certificate on a mutual-TLS port, a client that distrusts ours) is the client's problem.
  listener.on("tlsClientError", (error) => options.logger?.debug("rpc tls handshake failed", { error }));
  return { listener, sockets };
}

/** A call the admit hook refuses, answered on HTTP/1.1; the connection closes, so its body need not be read. */
function refusedHttp1(admit: NonNullable<ServeRpcOptions["admit"]>, request: http.IncomingMessage, response: http.ServerResponse): boolean {
  const refusal = admit((request.url ?? "").split("?", 1)[0] ?? "", request.headers);
  if (refusal === null) return false;
  const answer = refusalAnswerOf(request.headers, refusal);
  response.writeHead(answer.status, { ...answer.headers, connection: "close" }).end(answer.body);
  return true;
}

/** The same on HTTP/2; stopUpload resets the stream if the client is still sending. */
function refusedHttp2(admit: NonNullable<ServeRpcOptions["admit"]>, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
  const refusal = admit((headers[":path"] ?? "").split("?", 1)[0] ?? "", headers);
  if (refusal === null) return false;
  const answer = refusalAnswerOf(headers, refusal);
  stream.respond({ ":status": answer.status, ...answer.headers });
  stream.end(answer.body);
  return true;
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
    socket.pause();
    socket.unshift(head);
    handOff(isPrefaceSoFar);
    // Node's servers resume a handed-over socket themselves; Bun's do not, and a paused
    // socket would leave the request unread until the client gives up.
    socket.resume();
  };
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
