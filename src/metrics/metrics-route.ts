// GET /metrics: the Prometheus text exposition of a process's registry, on the port that
// serves its RPCs (HTTP/1.1, so plain curl works, and HTTP/2 alike). Every other request goes
// on to the handler this wraps.
//
// The text is written a family at a time, letting the event loop turn whenever the scrape has
// held it MAIN_THREAD_SLICE_MS: prom-client's metrics() formats every family in one go, which
// held a node's thread 0.6-1.3 ms a scrape (warm; 3-7 ms on its first) over ~25 KB of text.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { MAIN_THREAD_SLICE_MS, observeJob } from "./main-thread-work.ts";

export const METRICS_PATH = "/metrics";

/** A prom-client Registry, as far as the route needs it. */
export interface MetricsSource {
  readonly contentType: string;
  getMetricsAsArray(): readonly { readonly name: string }[];
  getSingleMetricAsString(name: string): Promise<string>;
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
    scrapeInSlices(source).then(
      (text) => answer(response, 200, source.contentType, request.method === "HEAD" ? "" : text),
      (error: unknown) => answer(response, 500, "text/plain; charset=utf-8", `collecting metrics failed: ${String(error)}\n`),
    );
  };
}

/**
 * The exposition as prom-client's metrics() writes it in the text format (families joined by a
 * blank line, a newline at the end). Each slice is timed as a run of metrics_scrape. A family
 * whose values are gathered over turns of the loop (the shard gauges count orders in slices of
 * their own, timed as open_order_count) counts in no slice: its time is not all the scrape's.
 */
export async function scrapeInSlices(source: MetricsSource, nowMs: () => number = () => performance.now()): Promise<string> {
  const families: string[] = [];
  let sliceMs = 0;
  for (const { name } of source.getMetricsAsArray()) {
    let loopTurned = false;
    const turn = setImmediate(() => {
      loopTurned = true;
    });
    const startedMs = nowMs();
    families.push(await source.getSingleMetricAsString(name));
    clearImmediate(turn);
    if (!loopTurned) sliceMs += nowMs() - startedMs;
    if (sliceMs >= MAIN_THREAD_SLICE_MS) {
      observeJob("metrics_scrape", sliceMs / 1000);
      sliceMs = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  if (sliceMs > 0) observeJob("metrics_scrape", sliceMs / 1000);
  return `${families.join("\n\n")}\n`;
}

function answer(response: Response, status: number, contentType: string, body: string): void {
  // Both response kinds take these calls; their typings share no overload that says so.
  const plain = response as http.ServerResponse;
  if (plain.writableEnded || plain.destroyed) return;
  plain.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  plain.end(body);
}

