// GET /metrics: the Prometheus text exposition of a process's registry, on the port that
// serves its RPCs (HTTP/1.1, so plain curl works, and HTTP/2 alike). Every other request goes
// on to the handler this wraps.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { timedJob } from "./main-thread-work.ts";

export const METRICS_PATH = "/metrics";

/** A prom-client Registry, as far as the route needs it. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

export function withMetricsRoute<Req extends Request, Res extends Response>(
  source: MetricsSource,
  handler: (request: Req, response: Res) => void,
): (request: Req, response: Res) => void {
  return (request, response) => {
    const path = request.url?.split("?", 1)[0];
    if (path !== METRICS_PATH || (request.method !== "GET" && request.method !== "HEAD")) {
      handler(request, response);
      return;
    }
    timedJob("metrics_scrape", () => source.metrics()).then(
      (text) => answer(response, 200, source.contentType, request.method === "HEAD" ? "" : text),
      (error: unknown) => answer(response, 500, "text/plain; charset=utf-8", `collecting metrics failed: ${String(error)}\n`),
    );
  };
}

function answer(response: Response, status: number, contentType: string, body: string): void {
  // Both response kinds take these calls; their typings share no overload that says so.
  const plain = response as http.ServerResponse;
  if (plain.writableEnded || plain.destroyed) return;
  plain.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  plain.end(body);
}

