// Cross-origin access for browser clients (Connect and gRPC-web from a page on another origin).
// The browser asks first with a preflight (OPTIONS) and then reads an answer only if it names
// the page's origin. Only the balancer faces browsers; nodes never install this.
//
// The lists of methods and headers are connect-es's own (`cors` from @connectrpc/connect), so a
// header a new Connect or gRPC-web client sends or reads is allowed when connect-es is updated.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from "node:http2";
import { Code, ConnectError, cors } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";

/** What `oms dev` allows: any page served from this machine, on any port. */
export const LOOPBACK_ORIGINS: readonly string[] = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/** The setting that lists allowed origins, named in what a refused preflight says. */
const SETTING = "balancer.corsOrigins";

// Headers the API reads beyond the protocols' own: an API key (src/auth/credentials.ts), as
// Authorization: Bearer or Alpaca's pair; and the one it writes: a rate limit's retry-after.
const APPLICATION_HEADERS = ["authorization", "apca-api-key-id", "apca-api-secret-key"];
const APPLICATION_EXPOSED_HEADERS = ["retry-after"];
const ALLOW_METHODS = cors.allowedMethods.join(", ");
const ALLOW_HEADERS = [...cors.allowedHeaders, ...APPLICATION_HEADERS].join(", ");
const EXPOSE_HEADERS = [...cors.exposedHeaders, ...APPLICATION_EXPOSED_HEADERS].join(", ");
// Chromium caches a preflight at most 2 hours (Firefox 24 h): longer would only be ignored.
const PREFLIGHT_MAX_AGE_S = 7200;
const PORT_MAX = 65_535;

/** Allowed origins: exact ones, hosts with any port, or every origin ("*"). */
export interface CorsOrigins {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  /** "http://localhost" for "http://localhost:*". */
  readonly anyPort: readonly string[];
}

/**
 * Why `text` is not an allowed-origin entry, or undefined if it is one: "*", an origin
 * (scheme://host[:port], as a browser sends it in Origin) or an origin with port "*".
 */
export function corsOriginProblem(text: string): string | undefined {
  if (text === "*") return undefined;
  const base = text.endsWith(":*") ? text.slice(0, -2) : text;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return `${JSON.stringify(text)} is not an origin (scheme://host[:port] or scheme://host:*)`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `${JSON.stringify(text)} is not an http or https origin`;
  if (url.origin !== base.toLowerCase()) {
    return `${JSON.stringify(text)} is not an origin: no path, user or trailing slash (did you mean "${url.origin}${base === text ? "" : ":*"}"?)`;
  }
  if (base !== text && url.port !== "") return `${JSON.stringify(text)} has both a port and ":*"`;
  return undefined;
}

/** Compiles checked entries (see corsOriginProblem); throws on one that is not. */
export function corsOrigins(entries: readonly string[]): CorsOrigins {
  const exact = new Set<string>();
  const anyPort: string[] = [];
  for (const entry of entries) {
    const problem = corsOriginProblem(entry);
    if (problem !== undefined) throw new Error(`cors: ${problem}`);
    if (entry === "*") continue;
    if (entry.endsWith(":*")) anyPort.push(new URL(entry.slice(0, -2)).origin);
    else exact.add(new URL(entry).origin);
  }
  return { any: entries.includes("*"), exact, anyPort };
}

export function isOriginAllowed(origins: CorsOrigins, origin: string): boolean {
  if (origins.any) return true;
  const lower = origin.toLowerCase();
  if (origins.exact.has(lower)) return true;
  return origins.anyPort.some((base) => {
    if (lower === base) return true;
    if (!lower.startsWith(base) || lower.charCodeAt(base.length) !== 0x3a /* ':' */) return false;
    const port = lower.slice(base.length + 1);
    return /^\d{1,5}$/.test(port) && Number(port) <= PORT_MAX;
  });
}

type HeaderValues = Record<string, string | number>;

/**
 * What a request gets from the CORS policy: a whole answer (a preflight) or headers to add to
 * whatever answers it; null when the request is not a browser's cross-origin one.
 */
function corsAnswer(
  origins: CorsOrigins,
  method: string | undefined,
  origin: string | string[] | undefined,
  requestMethod: string | string[] | undefined,
): { preflight: { status: number; headers: HeaderValues; body: Uint8Array | undefined } } | { headers: HeaderValues } | null {
  if (typeof origin !== "string") return null;
  const allowed = isOriginAllowed(origins, origin);
  if (method === "OPTIONS" && requestMethod !== undefined) {
    if (!allowed) return { preflight: refusal(origin) };
    const headers: HeaderValues = {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOW_METHODS,
      "access-control-allow-headers": ALLOW_HEADERS,
      "access-control-max-age": PREFLIGHT_MAX_AGE_S,
      vary: "Origin",
    };
    return { preflight: { status: 204, headers, body: undefined } };
  }
  // Vary even when refused: a cache must not hand one origin's answer to another.
  if (!allowed) return { headers: { vary: "Origin" } };
  return { headers: { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSE_HEADERS, vary: "Origin" } };
}

// The browser shows a page's script only that the preflight failed; the body is for whoever
// debugs it with curl, in the Connect protocol's error shape.
function refusal(origin: string): { status: number; headers: HeaderValues; body: Uint8Array } {
  const error = new ConnectError(`origin ${JSON.stringify(origin)} is not in ${SETTING}`, Code.PermissionDenied);
  const body = errorToJsonBytes(error, undefined);
  return { status: codeToHttpStatus(error.code), headers: { "content-type": "application/json", "content-length": body.byteLength, vary: "Origin" }, body };
}

/**
 * Applies the policy to an HTTP/1.1 request before anything else sees it: answers a preflight
 * (true), or sets the headers that every later writeHead keeps (false).
 */
export function corsHttp1(origins: CorsOrigins, request: IncomingMessage, response: ServerResponse): boolean {
  const answer = corsAnswer(origins, request.method, request.headers.origin, request.headers["access-control-request-method"]);
  if (answer === null) return false;
  if ("preflight" in answer) {
    response.writeHead(answer.preflight.status, answer.preflight.headers);
    response.end(answer.preflight.body);
    return true;
  }
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  return false;
}

/**
 * The same for an HTTP/2 stream. Whatever answers the stream afterwards (our own paths or
 * connect-es's compatibility response) sends its headers with stream.respond, so the CORS
 * headers are added there: one place covers every path.
 */
export function corsHttp2(origins: CorsOrigins, stream: ServerHttp2Stream, headers: Http2Headers): boolean {
  const answer = corsAnswer(origins, headers[":method"], headers.origin, headers["access-control-request-method"]);
  if (answer === null) return false;
  if ("preflight" in answer) {
    const { status, headers: preflightHeaders, body } = answer.preflight;
    stream.respond({ ":status": status, ...preflightHeaders }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    return true;
  }
  const respond = stream.respond.bind(stream);
  stream.respond = (responseHeaders, options) => respond({ ...responseHeaders, ...answer.headers }, options);
  return false;
}
