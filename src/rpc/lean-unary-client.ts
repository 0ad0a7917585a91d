// A lean client for one hot unary method in the Connect protocol (binary, HTTP/2): the
// balancer's Execute calls to a node, one per batch, which at low rates holds one order, so
// connect-es's generic per-call machinery would be paid for each order.
// Errors come back as connect-es would raise them: a Connect error body keeps its code, a
// connection that fails is UNAVAILABLE, a call past its deadline is DEADLINE_EXCEEDED. A
// connection that closes after the request went out (the server's process killed) is
// UNAVAILABLE too, and says that the call's outcome is unknown: the server may have done it.
import * as http2 from "node:http2";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, codeFromString } from "@connectrpc/connect/protocol-connect";
import { clientTlsOptions } from "./tls.ts";
import { nodeHopHeaders, type NodeHop } from "./transport.ts";

export class LeanUnaryClient<I extends DescMessage, O extends DescMessage> {
  private session: http2.ClientHttp2Session | null = null;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly baseUrl: string,
    private readonly path: string,
    private readonly input: I,
    private readonly output: O,
    private readonly hop: NodeHop = {},
  ) {
    this.headers = nodeHopHeaders(hop);
  }

  call(request: MessageShape<I>, timeoutMs: number): Promise<MessageShape<O>> {
    return this.callEncoded(toBinary(this.input, request), timeoutMs).then((body) => {
      try {
        return fromBinary(this.output, body);
      } catch (error) {
        throw new ConnectError(`${this.path}: cannot decode the answer: ${String(error)}`, Code.Internal);
      }
    });
  }

  /** The same call with the request already encoded, answering the undecoded response. */
  callEncoded(body: Uint8Array, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.connected().request({
          ":method": "POST",
          ":path": this.path,
          "content-type": "application/proto",
          "connect-protocol-version": "1",
          "connect-timeout-ms": String(timeoutMs),
          ...this.headers,
        });
      } catch (error) {
        this.drop();
        reject(new ConnectError(`${this.baseUrl}: ${String(error)}`, Code.Unavailable));
        return;
      }
      let status = 0;
      /** The answer's content-length, or -1 when the server did not declare one. */
      let declaredBytes = -1;
      let canceled = false;
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        canceled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new ConnectError(`${this.path}: no answer in ${timeoutMs} ms`, Code.DeadlineExceeded));
      }, timeoutMs);
      stream.on("response", (headers) => (status = Number(headers[":status"])));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("response", (headers) => (declaredBytes = headers["content-length"] === undefined ? -1 : Number(headers["content-length"])));
      stream.on("end", () => {
        clearTimeout(timer);
        // Bun ends a stream we canceled (our timeout, which answered the call already) as if
        // it were cut off: that is no sign of a broken connection, and dropping the session
        // would cancel every other call on it (under load: the link marked down).
        if (canceled) return;
        const answer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        const cutOff = cutOffBecause(stream, status, declaredBytes, answer.byteLength);
        if (cutOff !== null) {
          this.drop();
          reject(new ConnectError(`${this.baseUrl}: ${cutOff}: the outcome is unknown, check before retrying`, Code.Unavailable));
        } else if (status === 200) resolve(answer);
        else reject(errorOf(status, answer));
      });
      stream.on("error", (error) => {
        clearTimeout(timer);
        // Our own cancel of a late call ends only that stream; anything else means the
        // connection is gone, and the next call opens a new one.
        if (canceled) return;
        this.drop();
        reject(new ConnectError(`${this.baseUrl}: ${error.message}`, Code.Unavailable));
      });
      stream.end(body);
    });
  }

  close(): void {
    this.drop();
  }

  /** One session for every call; a session that failed or closed is replaced on the next call. */
  private connected(): http2.ClientHttp2Session {
    if (this.session !== null && !this.session.closed && !this.session.destroyed) return this.session;
    const session = this.hop.tls === undefined ? http2.connect(this.baseUrl) : http2.connect(this.baseUrl, clientTlsOptions(this.hop.tls));
    session.on("error", () => this.drop(session));
    session.on("close", () => this.drop(session));
    this.session = session;
    return session;
  }

  private drop(session: http2.ClientHttp2Session | null = this.session): void {
    if (session === null) return;
    if (this.session === session) this.session = null;
    if (!session.destroyed) session.destroy();
  }
}

/**
 * Why an ended stream is not a whole answer, or null if it is. Bun's client ends a stream whose
 * connection closed as if the server had finished it, so the end alone proves nothing: the
 * answer must have come (a status), be as long as it said, and the stream must not be reset.
 */
function cutOffBecause(stream: http2.ClientHttp2Stream, status: number, declaredBytes: number, receivedBytes: number): string | null {
  if (status === 0) return "the connection closed before an answer came";
  if (declaredBytes >= 0 && receivedBytes !== declaredBytes) return `the connection closed after ${receivedBytes} of the answer's ${declaredBytes} bytes`;
  if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return `the stream was reset (HTTP/2 code ${stream.rstCode}) before the answer ended`;
  return null;
}

function errorOf(status: number, body: Buffer): ConnectError {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { code?: unknown; message?: unknown };
    const code = typeof parsed.code === "string" ? codeFromString(parsed.code) : undefined;
    if (code !== undefined) return new ConnectError(typeof parsed.message === "string" ? parsed.message : "", code);
  } catch {
    // Not a Connect error body: the HTTP status says what it can, as the Connect protocol maps it.
  }
  return new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status));
}
