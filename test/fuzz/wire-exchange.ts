// Sends one fuzz request as raw bytes and collects the raw answer: HTTP/1.1 by fetch, HTTP/2 on
// a long-lived session the caller owns (so a session the server drops is seen). Nothing here
// interprets the answer; answer-shape.ts does, in the caller's protocol.
import * as http2 from "node:http2";

export type HttpVersion = "1.1" | "2";

/** How an HTTP/2 client ends its side of the stream. */
export type StreamEnding =
  | "end" //             the whole body, then END_STREAM
  | "reset-mid-body" //  half the body, then RST_STREAM(CANCEL): no answer is expected
  | "headers-only"; //   HEADERS with END_STREAM, no DATA frame at all

export interface WireRequest {
  http: HttpVersion;
  method: "POST" | "GET";
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  ending: StreamEnding;
  /** A server stream that may rightly stay open: stop reading when it has been quiet a while. */
  mayStayOpen: boolean;
  /** HTTP/1.1: send the body chunked (no Content-Length), in pieces of this many bytes; 0 sends it whole. */
  chunkBytes: number;
}

export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  trailers: Record<string, string>;
  /** The server had not ended the answer when the client stopped reading (a live stream). */
  stillOpen: boolean;
}

/**
 * A live stream (StreamTradeUpdates of an account that exists) never ends by itself: after this
 * long with nothing more to read the client hangs up, and what it has read is the answer.
 */
export const STREAM_READ_MS = 150;
/** A call that has not answered in this long is a hang (the server's own deadline is far shorter for these inputs). */
export const ANSWER_WAIT_MS = 10_000;

export async function exchange(request: WireRequest, session: () => http2.ClientHttp2Session, baseUrl: string): Promise<WireAnswer | "reset"> {
  return request.http === "2" ? exchange2(request, session()) : exchange1(request, baseUrl);
}

async function exchange1(request: WireRequest, baseUrl: string): Promise<WireAnswer> {
  const stop = new AbortController();
  const hang = setTimeout(() => stop.abort(new Error(`no answer in ${ANSWER_WAIT_MS} ms`)), ANSWER_WAIT_MS);
  try {
    const sent = fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      ...(request.method === "GET" ? {} : { body: request.chunkBytes > 0 ? chunked(request.body, request.chunkBytes) : request.body, duplex: "half" }),
      decompress: false,
      signal: stop.signal,
    } as RequestInit);
    // As on HTTP/2, a server stream may hold its headers until its first message.
    let headless: Timer | undefined;
    const quietly = new Promise<"quiet">((resolve) => {
      if (request.mayStayOpen) headless = setTimeout(() => resolve("quiet"), STREAM_READ_MS * 3);
    });
    const response = await Promise.race([sent, quietly]);
    clearTimeout(headless);
    if (response === "quiet") {
      stop.abort();
      sent.catch(() => undefined);
      return { status: 0, headers: {}, body: new Uint8Array(0), trailers: {}, stillOpen: true };
    }
    const headers = Object.fromEntries(response.headers);
    const { body, stillOpen } = await readUntilQuiet(response.body, request.mayStayOpen);
    return { status: response.status, headers, body, trailers: {}, stillOpen };
  } finally {
    clearTimeout(hang);
  }
}

/** The body as a stream of pieces: fetch sends it with Transfer-Encoding: chunked, its length unknown to the server until the end. */
function chunked(body: Uint8Array, chunkBytes: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(body.subarray(at, at + chunkBytes));
      at += chunkBytes;
    },
  });
}

/** Reads a body until it ends, or until it has been quiet for STREAM_READ_MS (then cancels it). */
async function readUntilQuiet(stream: ReadableStream<Uint8Array> | null, mayStayOpen: boolean): Promise<{ body: Uint8Array; stillOpen: boolean }> {
  if (stream === null) return { body: new Uint8Array(0), stillOpen: false };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    let quiet: Timer | undefined;
    const next = await Promise.race([
      reader.read(),
      new Promise<"quiet">((resolve) => {
        if (mayStayOpen) quiet = setTimeout(() => resolve("quiet"), STREAM_READ_MS);
      }),
    ]);
    clearTimeout(quiet);
    if (next === "quiet") {
      await reader.cancel().catch(() => undefined);
      return { body: Buffer.concat(chunks), stillOpen: true };
    }
    if (next.done) return { body: Buffer.concat(chunks), stillOpen: false };
    chunks.push(next.value);
  }
}

function exchange2(request: WireRequest, session: http2.ClientHttp2Session): Promise<WireAnswer | "reset"> {
  return new Promise<WireAnswer | "reset">((resolve, reject) => {
    const ending = request.ending;
    const stream = session.request(
      { ":method": request.method, ":path": request.path, ...request.headers },
      { endStream: ending === "headers-only" || request.method === "GET" },
    );
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let quiet: Timer | undefined;
    let settled = false;
    const settle = (outcome: WireAnswer | "reset" | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      clearTimeout(hang);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const answer = (stillOpen: boolean): WireAnswer => ({ status, headers, body: Buffer.concat(chunks), trailers, stillOpen });
    const hang = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      settle(new Error(`no answer in ${ANSWER_WAIT_MS} ms`));
    }, ANSWER_WAIT_MS);
    const rearm = () => {
      clearTimeout(quiet);
      if (!request.mayStayOpen) return;
      quiet = setTimeout(() => {
        // A server stream may send its headers with its first message: nothing yet is a live stream, not a hang.
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle(answer(true));
      }, STREAM_READ_MS);
    };
    rearm();
    stream.on("response", (received) => {
      status = Number(received[":status"]);
      headers = flatten(received);
      rearm();
    });
    stream.on("trailers", (received) => (trailers = flatten(received)));
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      rearm();
    });
    stream.on("end", () => settle(ending === "reset-mid-body" && status === 0 ? "reset" : answer(false)));
    stream.on("close", () => {
      if (ending === "reset-mid-body") return settle("reset");
      // Closed without END_STREAM: the server reset the stream.
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || status === 0) settle(new Error(`the server reset the stream (RST_STREAM code ${stream.rstCode}, status ${status})`));
      else settle(answer(false));
    });
    stream.on("error", (error: Error) => {
      if (ending === "reset-mid-body") return settle("reset");
      settle(new Error(`stream error: ${error.message}`));
    });
    if (ending === "end" && request.method !== "GET") stream.end(request.body);
    if (ending === "reset-mid-body") {
      stream.write(request.body.subarray(0, request.body.length >> 1), () => stream.close(http2.constants.NGHTTP2_CANCEL));
    }
  });
}

function flatten(fields: http2.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : String(value);
  return flat;
}
