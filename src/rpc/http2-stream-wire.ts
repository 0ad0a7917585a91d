// The server side of a streaming call in gRPC and in Connect over HTTP/2 (binary, uncompressed
// requests), for lean paths that answer a stream without connect-es: which calls they may
// take, the enveloped messages read from the request, and the answer (headers, enveloped
// messages, then gRPC's status trailers or Connect's end-of-stream message). What goes on the
// wire is what connect-es sends for the same call (the headers, the error codes and messages
// of a malformed request, gzip for large answers if the client accepts it); anything a lean
// path does not take (JSON, compressed requests, malformed deadlines) stays with connect-es.
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName } from "./connect-unary-wire.ts";
// The limits connect-es is given in serve.ts, so both answer a call alike: a longer deadline is
// connect-es's to refuse, and smaller answers are never compressed.
import { CALL_TIMEOUT_MAX_MS, COMPRESS_MIN_BYTES, MESSAGE_BYTES_MAX } from "./serve.ts";

const ENVELOPE_HEADER_BYTES = 5;
const FLAG_COMPRESSED = 0b01;
/** Connect's end-of-stream envelope; a client's is skipped, as connect-es skips it. */
const FLAG_END_STREAM = 0b10;

const EMPTY = Buffer.alloc(0);

/** How one call speaks, read from its request headers. */
export interface StreamWire {
  protocol: "grpc" | "connect";
  /** The client accepts gzip: answers of COMPRESS_MIN_BYTES or more are compressed. */
  gzipAnswers: boolean;
  /** The client's deadline, if it gave one. */
  timeoutMs: number | null;
}

/** The wire of a binary, uncompressed gRPC or Connect streaming request; null for anything else. */
export function streamWireOf(headers: IncomingHttpHeaders): StreamWire | null {
  if (headers[":method"] !== "POST") return null;
  const contentType = headers["content-type"];
  const protocol = contentType === "application/grpc" || contentType === "application/grpc+proto" ? "grpc" : contentType === "application/connect+proto" ? "connect" : null;
  if (protocol === null) return null;
  const grpc = protocol === "grpc";
  const encoding = headers[grpc ? "grpc-encoding" : "connect-content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return null;
  if (!grpc) {
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return null;
  }
  const timeoutText = headers[grpc ? "grpc-timeout" : "connect-timeout-ms"];
  if (Array.isArray(timeoutText)) return null;
  const timeoutMs = timeoutText === undefined ? null : grpc ? grpcTimeoutMs(timeoutText) : connectTimeoutMs(timeoutText);
  if (timeoutMs === undefined) return null;
  const accepted = headers[grpc ? "grpc-accept-encoding" : "connect-accept-encoding"];
  // connect-es answers in the first encoding of the client's list that it has; it has gzip only.
  const gzipAnswers = typeof accepted === "string" && accepted.split(",").some((name) => name.trim() === "gzip");
  return { protocol, gzipAnswers, timeoutMs };
}

/** undefined for a value connect-es would refuse (it is left to refuse it). */
function grpcTimeoutMs(text: string): number | undefined {
  const parsed = /^(\d{1,8})([HMSmun])$/.exec(text);
  if (parsed === null) return undefined;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[parsed[2] as "H" | "M" | "S" | "m" | "u" | "n"];
  const timeoutMs = unitMs * Number(parsed[1]);
  return timeoutMs <= CALL_TIMEOUT_MAX_MS ? timeoutMs : undefined;
}

function connectTimeoutMs(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const timeoutMs = Number(text);
  return timeoutMs <= CALL_TIMEOUT_MAX_MS ? timeoutMs : undefined;
}

/**
 * Splits the request's bytes into enveloped messages as they arrive. A client's bytes that
 * break the framing end the stream with the error connect-es gives for them.
 */
export class EnvelopeReader {
  private chunks: Buffer[] = [];
  /** Where the unread bytes start in chunks[0]: a position, not a slice, to spare a view per read. */
  private offset = 0;
  private buffered = 0;

  constructor(private readonly protocol: StreamWire["protocol"]) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole message, null if it has not all arrived, or the error that ends the stream. */
  next(): Uint8Array | null | ConnectError {
    for (;;) {
      if (this.buffered < ENVELOPE_HEADER_BYTES) return null;
      const head = this.headChunk();
      const length = head.readUInt32BE(this.offset + 1);
      if (length > MESSAGE_BYTES_MAX) {
        return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${MESSAGE_BYTES_MAX}`, Code.ResourceExhausted);
      }
      if (this.buffered < ENVELOPE_HEADER_BYTES + length) return null;
      const flags = head[this.offset] as number;
      this.offset += ENVELOPE_HEADER_BYTES;
      this.buffered -= ENVELOPE_HEADER_BYTES;
      const message = this.take(length);
      if ((flags & FLAG_COMPRESSED) !== 0) return new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
      if (this.protocol === "connect" && (flags & FLAG_END_STREAM) !== 0) continue;
      return message;
    }
  }

  /** At the end of the request: bytes left over are a message cut short. */
  leftover(): ConnectError | null {
    return this.buffered === 0 ? null : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }

  /** chunks[0], holding a whole envelope header at offset (joined with the next chunks if it was split). */
  private headChunk(): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= ENVELOPE_HEADER_BYTES) return first;
    this.chunks = [Buffer.concat([first.subarray(this.offset), ...this.chunks.slice(1)])];
    this.offset = 0;
    return this.chunks[0] as Buffer;
  }

  /** The next `length` bytes; a view into the chunk when they lie in one (the usual case). */
  private take(length: number): Buffer {
    if (length === 0) return EMPTY;
    this.buffered -= length;
    const first = this.chunks[0] as Buffer;
    const start = this.offset;
    if (first.length - start >= length) {
      this.offset += length;
      if (this.offset === first.length) this.dropFirst();
      return first.subarray(start, start + length);
    }
    const taken = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length - this.offset, length - filled);
      chunk.copy(taken, filled, this.offset, this.offset + part);
      filled += part;
      this.offset += part;
      if (this.offset === chunk.length) this.dropFirst();
    }
    return taken;
  }

  private dropFirst(): void {
    this.chunks.shift();
    this.offset = 0;
  }
}

/** The answer side of a streaming call: headers on the first write, then messages, then the end. */
export class StreamAnswer {
  private headersSent = false;
  private ended = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly wire: StreamWire,
  ) {}

  /** An envelope holding `length` bytes of message starts at `offset`: its 5-byte header. */
  static writeEnvelopeHeader(target: Buffer, offset: number, length: number, flags = 0): void {
    target[offset] = flags;
    target.writeUInt32BE(length, offset + 1);
  }

  static readonly envelopeHeaderBytes = ENVELOPE_HEADER_BYTES;

  /** Messages of this many bytes or more must go through envelopeOf (they may be compressed). */
  get compressFromBytes(): number {
    return this.wire.gzipAnswers ? COMPRESS_MIN_BYTES : Number.POSITIVE_INFINITY;
  }

  /** One message enveloped, compressed if the client accepts gzip and it is large enough. */
  envelopeOf(message: Uint8Array, flags = 0): Buffer {
    let data = message;
    if (message.length >= this.compressFromBytes) {
      data = gzipSync(message);
      flags |= FLAG_COMPRESSED;
    }
    const envelope = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + data.length);
    StreamAnswer.writeEnvelopeHeader(envelope, 0, data.length, flags);
    envelope.set(data, ENVELOPE_HEADER_BYTES);
    return envelope;
  }

  /** Enveloped messages; false when the stream's buffer is full ('drain' follows). */
  write(envelopes: Uint8Array): boolean {
    if (this.gone) return true;
    this.sendHeaders();
    return this.stream.write(envelopes);
  }

  /** Ends the call: gRPC's status trailers, or Connect's end-of-stream message. */
  end(error: ConnectError | null): void {
    if (this.ended || this.gone) return;
    this.ended = true;
    this.sendHeaders();
    if (this.wire.protocol === "grpc") {
      const trailers: Record<string, string> = error === null ? { "grpc-status": "0" } : { "grpc-message": encodeURIComponent(error.rawMessage), "grpc-status": String(error.code) };
      this.stream.once("wantTrailers", () => this.stream.sendTrailers(trailers));
      this.stream.end();
      return;
    }
    const json = error === null ? "{}" : JSON.stringify({ error: error.rawMessage === "" ? { code: codeName(error.code) } : { code: codeName(error.code), message: error.rawMessage } });
    this.stream.end(this.envelopeOf(Buffer.from(json, "utf8"), FLAG_END_STREAM));
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const grpc = this.wire.protocol === "grpc";
    const headers: Record<string, string | number> = { ":status": 200, "content-type": grpc ? "application/grpc+proto" : "application/connect+proto" };
    if (this.wire.gzipAnswers) headers[grpc ? "grpc-encoding" : "connect-content-encoding"] = "gzip";
    // gRPC's status goes in trailers, which HTTP/2 sends only if asked for before the headers.
    this.stream.respond(headers, { waitForTrailers: grpc });
  }
}
